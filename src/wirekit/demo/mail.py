"""The demo's inbox: the mail that the demo's catcher (``wirekit.mail.MailServer``) caught.

``wirekit serve`` with no arguments starts a catcher beside the web site and mounts this
application at ``/mail``, so slide 2-32's ``smtplib`` example (or ``wirekit mail send``) can be
tried against it and the message read in the browser::

    /mail/            the caught messages, newest first: date, from, to, subject, size
    /mail/KEY         one message: its envelope, its headers, its text part, its attachments
    /mail/KEY?raw     the message as stored, as text/plain

Nothing a message contains is ever rendered: an HTML part is shown as its source, every value
escaped, so a caught message cannot run script in the demo's origin.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable
from email.message import EmailMessage
from typing import Any

from wirekit.demo.pages import escape, html_page, send_page
from wirekit.errors import ConfigError
from wirekit.mail import CaughtMessage, MaildirStore

__all__ = ["inbox_app"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: How many messages the inbox lists (the newest); the rest stay in the Maildir.
MAX_LISTED = 200


def inbox_app(store: MaildirStore | None, smtp: str | None = None) -> WSGIApp:
    """The inbox of ``store``; ``smtp`` is the catcher's ``host:port``, shown on the page so
    a user knows where to send. With no store, the page says how to start a catcher."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            page = html_page("Method not allowed", "<p>The inbox is read-only.</p>",
                             base="../")
            return send_page(start_response, "405 Method Not Allowed", page,
                             [("Allow", "GET, HEAD")])
        path = environ.get("PATH_INFO", "")
        if path == "":  # /mail: the links on the list are relative to /mail/
            start_response("301 Moved Permanently", [("Location", "mail/"),
                                                     ("Content-Length", "0")])
            return []
        key = urllib.parse.unquote(path[1:])
        if not key:
            body = send_page(start_response, "200 OK", _inbox(store, smtp))
        else:
            body = _message(store, key, environ.get("QUERY_STRING", "") == "raw",
                            start_response)
        return [] if method == "HEAD" else body

    return app


def _how_to_send(smtp: str | None) -> str:
    if smtp is None:
        return ("<p>No mail catcher runs beside this site. <code>wirekit serve</code> with no "
                "arguments starts one; or run <code>wirekit mail serve</code> and "
                "<code>wirekit mail list</code> in a terminal.</p>")
    host, _, port = smtp.rpartition(":")
    return (f"<p>The demo's mail catcher listens on <code>{escape(smtp)}</code> (SMTP). It "
            "accepts mail for any address, relays nothing, keeps every message here, and "
            "speaks no TLS (<code>--plain</code>: the mail never leaves this machine). "
            "Send one, then reload this page:</p>\n"
            f"<pre>wirekit mail send --plain --server {escape(smtp)} --from me@example.org "
            "--to you@example.org --subject Hello --body 'Hi there'</pre>\n"
            "<p>or, as slide 2-32 does, with the standard library:</p>\n"
            "<pre>import smtplib\n"
            f"with smtplib.SMTP({escape(repr(host.strip('[]')))}, {escape(port)}) as s:\n"
            "    s.sendmail('me@example.org', ['you@example.org'],\n"
            "               'Subject: Hello\\r\\n\\r\\nHi there\\r\\n')</pre>")


def _inbox(store: MaildirStore | None, smtp: str | None) -> bytes:
    intro = _how_to_send(smtp)
    if store is None:
        return html_page("Mail", intro, base="../")
    messages = list(store)[::-1][:MAX_LISTED]
    if not messages:
        return html_page("Mail", intro + "\n<p>No mail yet.</p>", base="../")
    rows = "\n".join(
        f'<tr><td>{escape(m.date)}</td><td>{escape(m.sender)}</td>'
        f'<td>{escape(", ".join(m.recipients))}</td>'
        f'<td><a href="{escape(urllib.parse.quote(m.key))}">{escape(m.subject or "(none)")}'
        f"</a></td><td>{m.size}</td></tr>" for m in messages)
    table = ("<table>\n<thead><tr><th>Date</th><th>From</th><th>To</th><th>Subject</th>"
             f"<th>Bytes</th></tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>")
    return html_page("Mail", f"{intro}\n<p>{len(messages)} message(s), newest first.</p>\n"
                     f"{table}", base="../")


def _message(store: MaildirStore | None, key: str, raw: bool,
             start_response: Callable[..., Any]) -> list[bytes]:
    try:
        if store is None or "/" in key:
            raise ConfigError("no such message")
        message = store.get(key)
        if message.key != key:  # a prefix is enough for the CLI, not for a URL
            raise ConfigError("no such message")
    except ConfigError:
        page = html_page("No such message",
                         '<p>That message is not in the inbox.</p>\n<p><a href="./">Back to '
                         "the inbox</a></p>", base="../")
        return send_page(start_response, "404 Not Found", page)
    if raw:
        data = message.raw
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                                  ("Content-Length", str(len(data))),
                                  ("X-Content-Type-Options", "nosniff")])
        return [data]
    return send_page(start_response, "200 OK", _message_page(message))


def _message_page(caught: CaughtMessage) -> bytes:
    message = caught.message
    fields = "\n".join(f"<tr><th>{escape(name)}</th><td>{escape(str(value))}</td></tr>"
                       for name, value in message.items()
                       if name.lower() in ("from", "to", "cc", "date", "subject",
                                           "delivered-to", "received", "message-id"))
    try:
        text = caught.text
    except (LookupError, ValueError):  # an unknown charset, a broken encoding
        text = "(the text part could not be decoded: see the raw message)"
    attachments = "".join(
        f"<li>{escape(part.get_filename() or '(no name)')} "
        f"({escape(part.get_content_type())}, {len(part.get_payload(decode=True) or b'')} "
        "bytes)</li>" for part in message.iter_attachments() if isinstance(part, EmailMessage))
    body = (f"<table>\n<tbody>\n{fields}\n</tbody>\n</table>\n<pre>{escape(text)}</pre>\n"
            + (f"<p>Attachments:</p>\n<ul>{attachments}</ul>\n" if attachments else "")
            + f'<p><a href="{escape(urllib.parse.quote(caught.key))}?raw">The raw message</a>'
            ' &middot; <a href="./">Back to the inbox</a></p>')
    return html_page(caught.subject or "(no subject)", body, base="../")
