"""The demo's packets page: the shipped capture decoded, filtered, one packet in detail.

tcpdump reads the same file and is the oracle: the page keeps exactly the packets tcpdump
keeps for each example filter, and shows the same lines.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.parse
from collections.abc import Iterator

import pytest

from wirekit.demo import make_demo_app
from wirekit.demo.packets import _EXAMPLES, MAX_FILTER, SAMPLE_CAPTURE
from wirekit.net.capture import open_capture
from wirekit.testing import serve_wsgi

from .test_demo import fetch, parse_page

TCPDUMP = shutil.which("tcpdump") or shutil.which("tcpdump", path="/usr/sbin:/usr/bin")


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_wsgi(make_demo_app()) as base:
        yield base


def shown(body: bytes) -> list[str]:
    return [line.replace("&gt;", ">").replace("&quot;", '"') for line in
            re.findall(r"<td><code>(.*?)</code></td>", body.decode())]


def test_the_page_lists_every_packet_of_the_shipped_capture(url: str):
    status, headers, body = fetch(url + "/packets")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    page = parse_page(body)
    with open_capture(SAMPLE_CAPTURE) as reader:
        summaries = [packet.summary() for packet in reader]
    assert len(summaries) == 24
    assert shown(body) == summaries
    assert "files/demo.pcap" in page.links
    assert fetch(url + "/files/demo.pcap")[2] == SAMPLE_CAPTURE.read_bytes()


@pytest.mark.skipif(TCPDUMP is None, reason="tcpdump is not installed (apt-get install tcpdump)")
@pytest.mark.parametrize("expression", _EXAMPLES)
def test_each_example_filter_keeps_what_tcpdump_keeps(url: str, expression: str):
    query = urllib.parse.urlencode({"filter": expression})
    status, _, body = fetch(f"{url}/packets?{query}")
    assert status == 200
    oracle = subprocess.run([TCPDUMP, "-nn", "-r", str(SAMPLE_CAPTURE), expression],
                            capture_output=True, text=True, timeout=30, check=True).stdout
    kept = shown(body)
    assert len(kept) == oracle.count("\n") > 0
    # The same packets, in order: tcpdump's line is the time, then what summary() says.
    assert [line.split(" ")[:4] for line in kept] == [
        line.split(" ")[1:5] for line in oracle.splitlines()]


def test_one_packet_in_detail(url: str):
    status, _, body = fetch(url + "/packets?n=4")
    assert status == 200
    text = body.decode()
    assert "<h2>Packet 4</h2>" in text
    assert "ethertype IPv4" in text and "TCP 53530 &gt; 8000: Flags [P.]" in text
    assert "GET /hello/world HTTP/1.1" in text  # the payload, as text
    assert "0x0000:  0000 0000 0000 0000 0000 0000 0800 4500" in text  # the bytes


@pytest.mark.parametrize(("query", "status", "says"), [
    ("filter=tcp+bogus", 400, "Not a filter: unexpected &#x27;bogus&#x27;"),
    ("filter=" + "a" * (MAX_FILTER + 1), 400, f"at most {MAX_FILTER} characters"),
    ("filter=%3Cscript%3E", 400, "&lt;script&gt;"),
    ("n=0", 404, "There is no packet 0"),
    ("n=25", 404, "There is no packet 25"),
    ("n=x", 404, "There is no packet x"),
])
def test_bad_queries_get_a_page_that_says_why(url: str, query: str, status: int, says: str):
    code, _, body = fetch(f"{url}/packets?{query}")
    assert code == status
    assert says in body.decode()
    assert "<script>" not in body.decode()
    parse_page(body)


def test_other_paths_and_methods(url: str):
    status, _, body = fetch(url + "/packets/nothing")
    assert status == 404 and 'href="/packets"' in body.decode()
    assert fetch(url + "/packets", data=b"x=1")[0] == 405
