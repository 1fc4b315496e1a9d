"""SMTP (RFC 5321) as a sans-IO core: the server side and the client side of a session, with
STARTTLS (RFC 3207), AUTH PLAIN/LOGIN (RFC 4954), SIZE (RFC 1870), 8BITMIME (RFC 6152),
SMTPUTF8 (RFC 6531), PIPELINING (RFC 2920) and enhanced status codes (RFC 2034, RFC 3463).

Both sides speak the same events (``MailFrom``, ``RcptTo``, ``Content`` ...): a client sends
them, a server receives them. The replies are ``wirekit.proto.replies.Reply``, shared with FTP.
The shells that put the cores on sockets are ``wirekit.mail`` (client and catcher server).
"""

from wirekit.proto.smtp.client import ClientConnection
from wirekit.proto.smtp.events import (
    NEED_DATA,
    PAUSED,
    Answer,
    Auth,
    Close,
    Command,
    Content,
    Data,
    Event,
    Hello,
    MailFrom,
    Noop,
    Quit,
    RcptTo,
    Reset,
    StartTLS,
    Verify,
    Wait,
)
from wirekit.proto.smtp.server import ServerConnection
from wirekit.proto.smtp.settings import DEFAULT_SERVER_SETTINGS, ServerSettings
from wirekit.proto.smtp.state import ClientState, ServerState

__all__ = [
    "DEFAULT_SERVER_SETTINGS",
    "NEED_DATA",
    "PAUSED",
    "Answer",
    "Auth",
    "ClientConnection",
    "ClientState",
    "Close",
    "Command",
    "Content",
    "Data",
    "Event",
    "Hello",
    "MailFrom",
    "Noop",
    "Quit",
    "RcptTo",
    "Reset",
    "ServerConnection",
    "ServerSettings",
    "ServerState",
    "StartTLS",
    "Verify",
    "Wait",
]
