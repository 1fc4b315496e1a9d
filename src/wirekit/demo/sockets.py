"""The demo's sockets page: the echo and time servers beside the site, tried from the page.

Section 1 of the course (slides 1-18..1-31) writes a time server and an echo server and talks to
them with telnet. ``wirekit serve`` runs both beside the web site (``wirekit.demo.services``);
this page names their addresses, and does one round trip with ``wirekit.net.connect`` when
asked, so the library call it shows is the one that just ran::

    /sockets              the addresses, the commands, this process's listening sockets
    /sockets?say=TEXT     TEXT sent to the echo server, its answer and the round-trip time
    /sockets?time         the time server's answer

Each round trip is bounded (:data:`TIMEOUT` seconds, :data:`MAX_SAY` characters).
"""

from __future__ import annotations

import os
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from wirekit.demo.pages import escape, html_page, refuse_unless_page_read, send_page
from wirekit.errors import WirekitError
from wirekit.net import connect, list_sockets

__all__ = ["sockets_app"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Seconds allowed for one round trip to the echo or time server.
TIMEOUT = 5.0

#: The longest text the page sends to the echo server.
MAX_SAY = 200


def sockets_app(echo: str | None = None, time_server: str | None = None) -> WSGIApp:
    """The sockets page for the echo server at ``echo`` and the time server at
    ``time_server`` (``host:port`` each); without them the page says how to start them."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (refused := refuse_unless_page_read(environ, start_response, "sockets")) is not None:
            return refused
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True,
                                      max_num_fields=4)
        status, result = "200 OK", ""
        if "say" in query:
            status, result = _echo(echo, query["say"][0])
        elif "time" in query:
            status, result = _time(time_server)
        page = html_page("Sockets: echo, time, connections",
                         result + _body(echo, time_server))
        sent = send_page(start_response, status, page)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else sent

    return app


def _echo(address: str | None, text: str) -> tuple[str, str]:
    if address is None:
        return "503 Service Unavailable", _answer("No echo server is running beside this demo.")
    if len(text) > MAX_SAY or "\n" in text or "\r" in text:
        return "400 Bad Request", _answer(f"Say one line of at most {MAX_SAY} characters.")
    started = time.perf_counter()
    try:
        with connect(address, TIMEOUT) as stream:
            stream.sendall(text.encode() + b"\n", timeout=TIMEOUT)
            answer = stream.readline(limit=4 * MAX_SAY + 2, timeout=TIMEOUT)
    except (WirekitError, OSError) as exc:
        return "502 Bad Gateway", _answer(f"The echo server at {address} failed: {exc}")
    took = (time.perf_counter() - started) * 1000
    return "200 OK", _answer(f"Sent {text!r} to {address}; it came back as "
                             f"{answer.decode(errors='replace')!r} in {took:.2f} ms.")


def _time(address: str | None) -> tuple[str, str]:
    if address is None:
        return "503 Service Unavailable", _answer("No time server is running beside this demo.")
    try:
        with connect(address, TIMEOUT) as stream:
            answer = b""
            while chunk := stream.recv(1024, timeout=TIMEOUT):  # until the server closes
                answer += chunk
                if len(answer) > 1024:
                    break
    except (WirekitError, OSError) as exc:
        return "502 Bad Gateway", _answer(f"The time server at {address} failed: {exc}")
    return "200 OK", _answer(f"The time server at {address} sent "
                             f"{answer.decode(errors='replace').strip()!r} and closed.")


def _answer(text: str) -> str:
    return f'<p class="answer"><output>{escape(text)}</output></p>\n'


def _body(echo: str | None, time_server: str | None) -> str:
    started = ("" if echo and time_server else
               "<p>The echo and time servers run beside the demo when it is started with "
               "<code>wirekit serve</code>; here they are not, so start your own:</p>\n"
               "<pre>wirekit echo --port 7007\nwirekit time --port 8037</pre>\n")
    echo, time_server = echo or "127.0.0.1:7007", time_server or "127.0.0.1:8037"
    return (
        started
        + "<h2>The echo server (slides 1-29..1-31)</h2>\n"
        f"<p>Every byte sent to <code>{escape(echo)}</code> (TCP, and UDP on the same port) "
        "comes back. Type a line here and this server will send it there:</p>\n"
        '<form method="get" action="sockets"><label>Say <input name="say" '
        f'maxlength="{MAX_SAY}" value="hello"></label> <button>Send</button></form>\n'
        f"<pre>wirekit connect {escape(echo)}          # type a line: it comes back; "
        "Ctrl-D ends\n"
        f"wirekit connect --udp {escape(echo)}    # each line is one datagram</pre>\n"
        "<pre>from wirekit.net import connect\n\n"
        f'with connect("{escape(echo)}", timeout=5) as stream:\n'
        '    stream.sendall(b"hello\\n")\n'
        "    print(stream.readline())</pre>\n"
        "<h2>The time server (slide 1-22)</h2>\n"
        f"<p>A client of <code>{escape(time_server)}</code> receives the time and is "
        'disconnected. <a href="sockets?time">Ask it from here</a>.</p>\n'
        f"<pre>wirekit connect {escape(time_server)}</pre>\n"
        "<h2>Names and connections (slides 1-14, 1-41)</h2>\n"
        f"<pre>wirekit lookup localhost\n"
        f"wirekit connections --listening --port {escape(echo.rpartition(':')[2])}"
        "   # netstat: who listens there</pre>\n"
        + _listening())


def _listening() -> str:
    """This process's listening sockets: the web site and the servers beside it."""
    try:
        mine = [info for info in list_sockets(listening=True, kinds="inet")
                if info.pid == os.getpid()]
    except WirekitError as exc:
        return f"<p>The sockets cannot be listed here: {escape(str(exc))}</p>\n"
    if not mine:
        return "<p>This process's sockets are not visible here (other users' are root's).</p>\n"
    rows = "\n".join(f"<tr><td>{escape(info.protocol)}</td><td><code>{escape(info.local)}"
                     "</code></td></tr>"
                     for info in sorted(mine, key=lambda info: (info.local, info.protocol)))
    return ("<p>This demo's listening sockets, as <code>wirekit.net.list_sockets()</code> "
            "sees them:</p>\n<table><thead><tr><th>Protocol</th><th>Local address</th></tr>"
            f"</thead>\n<tbody>\n{rows}\n</tbody></table>\n")
