"""L3, mail: send it safely, catch it locally (RFC 5321 on the ``wirekit.proto.smtp`` core).

    from email.message import EmailMessage
    from wirekit.mail import MailServer, send

    with MailServer("maildir", "127.0.0.1:0") as server:      # the catcher, in a thread
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "a@example.org", "b@example.org", "hi"
        msg.set_content("Hello")
        send(msg, port=server.address.port, tls=None)
"""

from wirekit.mail.client import Client, SendResult, send
from wirekit.mail.errors import InvalidMessage, MailRefused, RecipientsRefused
from wirekit.mail.server import MailServer
from wirekit.mail.store import CaughtMessage, Envelope, MaildirStore

__all__ = [
    "CaughtMessage",
    "Client",
    "Envelope",
    "InvalidMessage",
    "MailRefused",
    "MailServer",
    "MaildirStore",
    "RecipientsRefused",
    "SendResult",
    "send",
]
