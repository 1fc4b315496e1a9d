"""``wirekit mail``: send a message, or catch mail locally (``smtpd`` for today's Python).

    wirekit mail serve                          # 127.0.0.1:8025 into ./maildir
    wirekit mail send --plain --to b@example.org --from a@example.org --subject hi --body yo
    wirekit mail list                           # date, from, to, subject, size
    wirekit mail show 17964                     # a key, or its first characters
"""

from __future__ import annotations

import dataclasses
import email.utils
import getpass
import json
import logging
import mimetypes
import sys
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import click

from wirekit.cli.output import safe_text
from wirekit.cli.serving import listen_address, server_options
from wirekit.cli.sizes import BYTE_SIZE
from wirekit.config import DEFAULT_TIMEOUTS, TLSConfig
from wirekit.errors import ConfigError, InvalidAddress
from wirekit.mail import MaildirStore, MailServer, send
from wirekit.mail.client import TLSMode
from wirekit.mail.server import DEFAULT_PORT
from wirekit.net.address import Address
from wirekit.net.tls import server_context

DEFAULT_MAILDIR = "maildir"
_TLS_MODES: dict[str, TLSMode] = {"starttls": "starttls", "implicit": "implicit", "plain": None}
_MAILDIR = click.option("--maildir", "-d", default=DEFAULT_MAILDIR, show_default=True,
                        metavar="DIR", help="The Maildir the catcher stores into.")


@click.group(epilog="""\b
Examples:
  wirekit mail serve --maildir /tmp/mail        # catch everything sent to 127.0.0.1:8025
  wirekit mail send --plain --to bob@example.org --from me@example.org \\
      --subject "Hello" --body "Hi Bob"         # to the local catcher
  wirekit mail send --server smtp.example.org:587 --user me --to ... --attach report.pdf
  wirekit mail list --json
  wirekit mail show 1796 --raw
""")
def command() -> None:
    """Send mail safely, or run a local catcher that stores every message in a Maildir.

    The catcher relays nothing, ever: point an application under development at it and
    read what it would have sent with 'list' and 'show' (or any mail client).
    """


# -- send -----------------------------------------------------------------------------------
@command.command("send")
@click.option("--to", "to", multiple=True, required=True, metavar="ADDR",
              help="A recipient (repeatable).")
@click.option("--cc", multiple=True, metavar="ADDR", help="A copy recipient (repeatable).")
@click.option("--bcc", multiple=True, metavar="ADDR",
              help="A blind copy recipient: in the envelope, not the headers.")
@click.option("--from", "sender", required=True, metavar="ADDR", help="The sender.")
@click.option("--subject", "-s", default="", help="The subject line.")
@click.option("--body", "-m", metavar="TEXT", help="The text of the message.")
@click.option("--body-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              metavar="FILE", help="Read the text from FILE ('-' for standard input).")
@click.option("--html-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              metavar="FILE", help="An HTML alternative of the text.")
@click.option("--attach", "-a", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE",
              help="Attach FILE (repeatable).")
@click.option("--server", default=f"localhost:{DEFAULT_PORT}", show_default=True,
              metavar="HOST:PORT", help="The SMTP server.")
@click.option("--starttls", "tls", flag_value="starttls", default=True,
              help="Upgrade with STARTTLS and verify the certificate (the default).")
@click.option("--tls", "tls", flag_value="implicit", help="TLS from the start (port 465).")
@click.option("--plain", "tls", flag_value="plain",
              help="No TLS (a local catcher); a password is then refused.")
@click.option("--cafile", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Trust the CA certificates in FILE (a test CA) besides the system's.")
@click.option("--user", "-u", metavar="NAME", help="Log in as NAME (AUTH PLAIN or LOGIN).")
@click.option("--password-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              metavar="FILE", help="Read the password from FILE (else it is prompted for).")
def send_command(to: tuple[str, ...], cc: tuple[str, ...], bcc: tuple[str, ...], sender: str,
                 subject: str, body: str | None, body_file: Path | None,
                 html_file: Path | None, attach: tuple[Path, ...], server: str, tls: str,
                 cafile: str | None, user: str | None, password_file: Path | None) -> None:
    """Send one message: text, an HTML alternative, attachments, UTF-8 anywhere.

    TLS is STARTTLS with a verified certificate unless --tls or --plain says otherwise; the
    message is checked (no line breaks in addresses or headers) before connecting.
    """
    message = _build(to, cc, sender, subject, _text(body, body_file), html_file, attach)
    try:
        address = Address.parse(server, default_port=DEFAULT_PORT)
    except InvalidAddress as exc:
        raise click.BadParameter(str(exc), param_hint="--server") from None
    auth = None
    if user is not None:
        if tls == "plain":
            raise click.UsageError("refusing to send a password without TLS (--plain)")
        auth = (user, _password(user, password_file))
    result = send(message, address.host or "localhost", address.port, tls=_TLS_MODES[tls],
                  auth=auth, context=TLSConfig(cafile=cafile) if cafile else None,
                  recipients=[*to, *cc, *bcc] if bcc else None)
    refused = "".join(f"; refused {r}: {reply}" for r, reply in result.refused.items())
    click.echo(f"sent to {', '.join(result.accepted)}: {result.reply}{refused}")


def _text(body: str | None, body_file: Path | None) -> str:
    if body is not None and body_file is not None:
        raise click.UsageError("give --body or --body-file, not both")
    if body_file is not None:
        data = sys.stdin.buffer.read() if str(body_file) == "-" else body_file.read_bytes()
        return data.decode("utf-8", "replace")
    return body if body is not None else ""


def _build(to: tuple[str, ...], cc: tuple[str, ...], sender: str, subject: str, text: str,
           html_file: Path | None, attach: tuple[Path, ...]) -> EmailMessage:
    message = EmailMessage()
    try:
        message["From"], message["To"], message["Subject"] = sender, ", ".join(to), subject
        if cc:
            message["Cc"] = ", ".join(cc)
        # RFC 5322 §3.6: Date is required, Message-ID expected; the domain is the sender's
        # (make_msgid's default asks DNS for our own name, which can stall).
        message["Date"] = email.utils.formatdate(localtime=True)
        message["Message-ID"] = email.utils.make_msgid(domain=sender.rpartition("@")[2]
                                                       or "localhost")
    except ValueError as exc:  # a line break in a header (email refuses it)
        raise click.UsageError(str(exc)) from None
    message.set_content(text if text.endswith("\n") or not text else text + "\n")
    if html_file is not None:
        message.add_alternative(html_file.read_text(encoding="utf-8"), subtype="html")
    for path in attach:
        kind, _ = mimetypes.guess_type(path.name)
        maintype, _, subtype = (kind or "application/octet-stream").partition("/")
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype,
                               filename=path.name)
    return message


def _password(user: str, password_file: Path | None) -> str:
    if password_file is not None:
        return password_file.read_text(encoding="utf-8").splitlines()[0] \
            if password_file.stat().st_size else ""
    if not sys.stdin.isatty():
        raise click.UsageError("--user needs --password-file when not run on a terminal")
    return getpass.getpass(f"Password for {user}: ")


# -- serve ----------------------------------------------------------------------------------
@command.command("serve")
@server_options(DEFAULT_PORT, exclude=("--udp",))
@_MAILDIR
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Offer STARTTLS with this certificate chain (PEM).")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="The private key of --certfile, if it is not in the same file.")
@click.option("--implicit-tls", is_flag=True,
              help="TLS from the first byte (port 465 style) instead of STARTTLS.")
@click.option("--passwords", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Require AUTH; FILE has user:password lines.")
@click.option("--allow-cleartext-auth", is_flag=True,
              help="Offer AUTH without TLS (passwords then cross the network readable).")
@click.option("--max-size", type=BYTE_SIZE, default="25M", show_default=True, metavar="SIZE",
              help="The largest message accepted (announced as SIZE).")
@click.option("--max-recipients", type=click.IntRange(min=1), default=100, show_default=True,
              metavar="N", help="Recipients per message.")
def serve_command(**options: Any) -> None:
    """Catch mail: accept any message for anyone and store it in a Maildir. Relays nothing.

    Runs in every concurrency mode; logs one line per message and per connection.
    """
    logging.basicConfig(level=options["log_level"].upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    address = listen_address(options["bind"], options["port"], options["unix"], DEFAULT_PORT)
    if options["implicit_tls"] and not options["certfile"]:
        raise click.UsageError("--implicit-tls needs --certfile")
    timeouts = dataclasses.replace(DEFAULT_TIMEOUTS, idle=options["idle_timeout"])
    try:
        tls = server_context(options["certfile"], options["keyfile"]) \
            if options["certfile"] else None
        server = MailServer(options["maildir"], address, concurrency=options["concurrency"],
                            workers=options["workers"], allow=options["allow"],
                            deny=options["deny"], reuse_port=options["reuse_port"], tls=tls,
                            implicit_tls=options["implicit_tls"],
                            passwords=options["passwords"],
                            allow_cleartext_auth=options["allow_cleartext_auth"],
                            max_message=options["max_size"],
                            max_recipients=options["max_recipients"], timeouts=timeouts)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    kind = "unix" if server.address.is_unix else "tcp"
    extras = ", STARTTLS" if tls and not options["implicit_tls"] else (", TLS" if tls else "")
    extras += ", AUTH required" if options["passwords"] else ""

    def announce() -> None:
        click.echo(f"wirekit mail: listening on {kind} {server.address} ({server.mode}"
                   f"{extras}), storing into {options['maildir']}; stop with Ctrl-C")
        sys.stdout.flush()

    server.serve_forever(ready=announce)


# -- list and show --------------------------------------------------------------------------
@command.command("list")
@_MAILDIR
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
def list_command(maildir: str, as_json: bool) -> None:
    """List the caught messages, oldest first: key, date, from, to, subject, size."""
    messages = list(_store(maildir))
    if as_json:
        click.echo(json.dumps([{"key": m.key, "date": m.date, "from": m.sender,
                                "to": list(m.recipients), "subject": m.subject,
                                "size": m.size} for m in messages], indent=2,
                              ensure_ascii=False))
        return
    rows = [("KEY", "DATE", "FROM", "TO", "SUBJECT", "SIZE")]
    rows += [(m.key[:16], m.date[:31], m.sender, ", ".join(m.recipients), m.subject,
              str(m.size)) for m in messages]
    widths = [min(max(len(row[i]) for row in rows), 40) for i in range(5)]
    for row in rows:
        cells = [safe_text(cell)[:40].ljust(widths[i]) for i, cell in enumerate(row[:5])]
        click.echo("  ".join([*cells, row[5]]).rstrip())


@command.command("show")
@click.argument("key")
@_MAILDIR
@click.option("--raw", is_flag=True, help="The stored file as it is, byte for byte.")
def show_command(key: str, maildir: str, raw: bool) -> None:
    """Show one caught message (KEY, or the first characters of it): headers and text."""
    caught = _store(maildir).get(key)
    if raw:
        sys.stdout.buffer.write(caught.raw)
        return
    for name in ("Date", "From", "To", "Cc", "Subject"):
        for value in caught.message.get_all(name, []):
            click.echo(f"{name}: {safe_text(str(value))}")
    click.echo(f"Envelope: {caught.sender} -> {', '.join(caught.recipients)}")
    attachments = [part.get_filename() or "(unnamed)"
                   for part in caught.message.iter_attachments()]
    if attachments:
        click.echo(f"Attachments: {safe_text(', '.join(attachments))}")
    click.echo("")
    click.echo(safe_text(caught.text))


def _store(maildir: str) -> MaildirStore:
    if not Path(maildir, "new").is_dir():
        raise ConfigError(f"no Maildir at {maildir!r} (start one with 'wirekit mail serve')")
    return MaildirStore(maildir, create=False)
