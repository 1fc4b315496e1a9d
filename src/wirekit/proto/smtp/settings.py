"""What an SMTP server core offers and allows: one frozen value, every default justified."""

from __future__ import annotations

from dataclasses import dataclass

from wirekit.errors import ConfigError
from wirekit.proto.smtp.sasl import MECHANISMS

__all__ = ["DEFAULT_SERVER_SETTINGS", "ServerSettings"]

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """The policy of :class:`~wirekit.proto.smtp.ServerConnection`.

    Strict by default: no AUTH in the clear, VRFY refused, only CRLF line ends, bounded
    everything. Leniency is a named opt-in.
    """

    #: The name in the greeting and the EHLO reply.
    hostname: str = "localhost"
    #: Largest message accepted (announced as SIZE, RFC 1870): 25 MiB, Gmail's limit for
    #: what it sends and above Postfix's 10 MB, so a 20 MB attachment gets through.
    max_message: int = 25 * MiB
    #: Recipients per message: RFC 5321 §4.5.3.1.8 requires at least 100 (Postfix: 1000).
    max_recipients: int = 100
    #: A command or text line with its CRLF (RFC 5321 §4.5.3.1.4-6: 512 for commands, 1000
    #: for text; extensions lengthen commands, so one bound of 1000 covers both).
    max_line: int = 1000
    #: Errors before the server hangs up with 421 (Postfix ``smtpd_hard_error_limit`` 20).
    max_errors: int = 20
    #: Offer STARTTLS (RFC 3207); the shell must be able to do the handshake.
    starttls: bool = False
    #: SASL mechanisms offered for AUTH (RFC 4954); empty: AUTH is not offered.
    auth_mechanisms: tuple[str, ...] = ()
    #: Offer and accept AUTH without TLS (the passwords then cross the network in the clear).
    allow_cleartext_auth: bool = False
    #: Refuse MAIL until STARTTLS (RFC 3207 §4: 530 5.7.0).
    require_tls: bool = False
    #: Refuse MAIL until AUTH succeeded (RFC 4954 §6: 530 5.7.0).
    require_auth: bool = False
    #: Hand VRFY to the application instead of refusing it (RFC 5321 §3.5.3, §7.3: it
    #: helps harvesters; Postfix ``disable_vrfy_command``).
    allow_verify: bool = False

    def __post_init__(self) -> None:
        for name in ("max_message", "max_recipients", "max_errors"):
            if getattr(self, name) < 1:
                raise ConfigError(f"ServerSettings.{name} must be >= 1")
        if self.max_line < 512:
            raise ConfigError("ServerSettings.max_line must be >= 512 (RFC 5321 §4.5.3.1.4)")
        unknown = set(self.auth_mechanisms) - set(MECHANISMS)
        if unknown:
            raise ConfigError(f"unsupported AUTH mechanisms {sorted(unknown)}; "
                              f"wirekit offers {', '.join(MECHANISMS)}")
        if not self.hostname or not self.hostname.isprintable() or " " in self.hostname:
            raise ConfigError(f"ServerSettings.hostname must be a host name, "
                              f"not {self.hostname!r}")


DEFAULT_SERVER_SETTINGS = ServerSettings()
