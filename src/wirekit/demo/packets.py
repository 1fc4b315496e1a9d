"""The demo's packets page: a capture shipped with the site, decoded by ``wirekit.net.capture``.

Course slide 1-45 opens a raw socket and prints what it sees; capturing needs root, so the
demo ships a capture instead (``files/demo.pcap``: an HTTP request to this demo, a UDP echo,
an ICMP "port unreachable" and a TCP echo over IPv6, all on ``lo``) and shows it the way
``wirekit sniff -r`` does::

    /packets                  one tcpdump-style line per packet
    /packets?filter=EXPR      only the packets a tcpdump filter keeps (wirekit.net.capture.Filter)
    /packets?n=N              packet N: every decoded layer and the bytes

The file was made with ``wirekit sniff -i lo -w demo.pcap 'port 8000 or port 7007 or port
7009 or icmp or icmp6'`` while a script sent that traffic; it is read once, when the
application is built, and never more than :data:`MAX_PACKETS` packets of it.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from wirekit.demo.pages import escape, html_page, refuse_unless_page_read, send_page
from wirekit.net.capture import Filter, InvalidFilter, Packet, open_capture

__all__ = ["SAMPLE_CAPTURE", "packets_app"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: The capture the page decodes (package data, also served as ``files/demo.pcap``).
SAMPLE_CAPTURE = Path(__file__).resolve().parent / "site" / "files" / "demo.pcap"

#: At most this many packets are read from the capture.
MAX_PACKETS = 1000

#: A filter expression longer than this is refused (400) before it is parsed.
MAX_FILTER = 200

_EXAMPLES = ("tcp port 8000", "udp", "ip6", "icmp", "portrange 7000-7010",
             "src host 127.0.0.1 and dst port 7007", "not tcp")


def packets_app(capture: Path = SAMPLE_CAPTURE) -> WSGIApp:
    """The packets page for ``capture`` (a pcap or pcapng file), read now, once."""
    with open_capture(capture) as reader:
        packets = [packet for packet, _ in zip(reader, range(MAX_PACKETS), strict=False)]

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (refused := refuse_unless_page_read(environ, start_response, "packets")) is not None:
            return refused
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=4)
        expression = (query.get("filter") or [""])[0].strip()
        number = (query.get("n") or [""])[0]
        status, body = (_detail(packets, number) if number else
                        _listing(packets, expression))
        page = html_page("Packets, decoded", body)
        sent = send_page(start_response, status, page)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else sent

    return app


def _intro(count: int) -> str:
    return (
        "<p>Slide 1-45 opens a raw socket and prints every packet it sees. "
        "<code>wirekit sniff</code> does that (as root) and decodes what it captures: "
        f'here are {count} packets captured on <code>lo</code> beforehand, '
        '<a href="files/demo.pcap">demo.pcap</a>: an HTTP request to this demo, a UDP echo, '
        "an ICMP &quot;port unreachable&quot; and a TCP echo over IPv6.</p>\n"
        "<pre>wirekit get http://127.0.0.1:8000/files/demo.pcap -o demo.pcap\n"
        "wirekit sniff -r demo.pcap                      # one line per packet, like tcpdump\n"
        "wirekit sniff -r demo.pcap --json udp           # JSON, only UDP\n"
        "wirekit sniff -d 'tcp port 8000'                # the BPF program the kernel runs\n"
        "sudo wirekit sniff -i lo -c 5 'tcp port 8000'   # live: root or CAP_NET_RAW</pre>\n"
        "<pre>from wirekit.net.capture import Filter, open_capture\n\n"
        'keep = Filter("tcp port 8000")\n'
        'with open_capture("demo.pcap") as packets:\n'
        "    for packet in packets:\n"
        "        if keep.matches(packet):\n"
        "            print(packet.summary())</pre>\n")


def _listing(packets: list[Packet], expression: str) -> tuple[str, str]:
    status, problem, keep = "200 OK", "", None
    if len(expression) > MAX_FILTER:
        status, problem = "400 Bad Request", f"A filter is at most {MAX_FILTER} characters."
    elif expression:
        try:
            keep = Filter(expression)
        except InvalidFilter as exc:
            status, problem = "400 Bad Request", f"Not a filter: {exc}"
    rows = [] if problem else [
        f'<tr><td><a href="packets?n={number}">{number}</a></td>'
        f"<td>{packet.timestamp - packets[0].timestamp:.6f}</td>"
        f"<td><code>{escape(packet.summary())}</code></td></tr>"
        for number, packet in enumerate(packets, 1)
        if keep is None or keep.matches(packet)]
    links = " ".join(f'<a href="packets?{urllib.parse.urlencode({"filter": example})}">'
                     f"<code>{escape(example)}</code></a>" for example in _EXAMPLES)
    body = (_intro(len(packets))
            + '<form method="get" action="packets"><label>Filter (tcpdump words) '
            f'<input name="filter" value="{escape(expression)}" maxlength="{MAX_FILTER}" '
            'size="40"></label> <button>Filter</button></form>\n'
            f"<p>Try: {links}</p>\n"
            + (f'<p class="error">{escape(problem)}</p>\n' if problem else "")
            + f"<p>{len(rows)} of {len(packets)} packets.</p>\n"
            + "<table><thead><tr><th>No.</th><th>Time</th><th>Summary</th></tr></thead>\n"
            + "<tbody>\n" + "\n".join(rows) + "\n</tbody></table>")
    return status, body


def _detail(packets: list[Packet], number: str) -> tuple[str, str]:
    if not number.isdigit() or not 1 <= int(number) <= len(packets):
        return "404 Not Found", (f"<p>There is no packet {escape(number)}: the capture has "
                                 f'{len(packets)}. <a href="packets">All packets</a>.</p>')
    packet = packets[int(number) - 1]
    layers = "\n".join(f"<li><code>{escape(str(layer))}</code></li>" for layer in packet.layers)
    payload = packet.payload
    shown = escape(payload[:512].decode("ascii", "replace")) if payload else "(none)"
    return "200 OK", (
        f'<p><a href="packets">All packets</a></p>\n<h2>Packet {number}</h2>\n'
        f"<p><code>{escape(packet.summary())}</code></p>\n<h3>Layers</h3>\n<ol>{layers}</ol>\n"
        f"<h3>Payload ({len(payload)} bytes)</h3>\n<pre>{shown}</pre>\n"
        f"<h3>Bytes</h3>\n<pre>{escape(packet.hexdump())}</pre>\n"
        "<pre>from wirekit.net.capture import open_capture\n\n"
        'with open_capture("demo.pcap") as packets:\n'
        f"    packet = list(packets)[{int(number) - 1}]\n"
        "print(packet.ip, packet.transport, packet.payload, sep=\"\\n\")</pre>")
