"""The servers beside the demo (wirekit.demo.services) and the sockets page that talks to them."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from wirekit.demo import make_demo_app
from wirekit.demo.services import DemoServices, demo_services
from wirekit.demo.sockets import MAX_SAY
from wirekit.testing import serve_wsgi

from .test_demo import fetch, parse_page

ANY_PORT = {"mail": 0, "echo": 0, "time": 0, "ftp": 0}


@pytest.fixture(scope="module")
def services() -> Iterator[DemoServices]:
    with demo_services(ports=ANY_PORT) as running:
        yield running


@pytest.fixture(scope="module")
def url(services: DemoServices) -> Iterator[str]:
    app = make_demo_app(mail=services.store, smtp=services.mail, echo=services.echo,
                        time=services.time)
    with serve_wsgi(app) as base:
        yield base


def port(address: str) -> int:
    return int(address.rpartition(":")[2])


def test_the_services_answer_on_the_addresses_they_name(services: DemoServices):
    with socket.create_connection(("127.0.0.1", port(services.echo)), timeout=10) as echo:
        echo.sendall(b"ping\n")
        assert echo.recv(100) == b"ping\n"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:  # UDP on the same port
        udp.settimeout(10)
        udp.sendto(b"datagram", ("127.0.0.1", port(services.echo)))
        assert udp.recvfrom(100)[0] == b"datagram"
    with socket.create_connection(("127.0.0.1", port(services.time)), timeout=10) as clock:
        said = b"".join(iter(lambda: clock.recv(100), b""))  # then EOF: the server closed
    assert re.fullmatch(rb"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\r?\n", said), said
    with socket.create_connection(("127.0.0.1", port(services.mail)), timeout=10) as smtp:
        assert smtp.recv(100).startswith(b"220 ")


def test_a_taken_port_falls_back_to_a_free_one():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        with demo_services(ports={**ANY_PORT, "echo": taken}) as running:
            assert port(running.echo) not in (taken, 0)
            with socket.create_connection(("127.0.0.1", port(running.echo)), timeout=10) as s:
                s.sendall(b"x")
                assert s.recv(1) == b"x"
    # ... and everything stopped when the block ended
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port(running.echo)), timeout=10)


def test_the_page_names_the_servers_and_lists_this_process_sockets(url, services):
    status, _, body = fetch(url + "/sockets")
    assert status == 200
    page = parse_page(body)
    text = "\n".join(page.pre)
    assert f"wirekit connect {services.echo}" in text
    assert f"wirekit connect {services.time}" in text
    assert f"<code>{services.echo}</code>" in body.decode()  # in the listening table
    assert ("sockets", "get") in page.actions or ("sockets", "GET") in page.actions


def test_say_does_a_round_trip_through_the_echo_server(url, services):
    status, _, body = fetch(url + "/sockets?say=hello%20%3Cb%3E")
    assert status == 200
    assert (f"Sent &#x27;hello &lt;b&gt;&#x27; to {services.echo}; it came back as "
            "&#x27;hello &lt;b&gt;\\n&#x27; in ") in body.decode()


def test_time_asks_the_time_server(url, services):
    status, _, body = fetch(url + "/sockets?time")
    assert status == 200
    assert re.search(rf"The time server at {services.time} sent &#x27;\w{{3}} \w{{3}} ",
                     body.decode())


@pytest.mark.parametrize("say", ["x" * (MAX_SAY + 1), "two%0Alines"])
def test_what_the_page_will_not_send(url, say):
    status, _, body = fetch(f"{url}/sockets?say={say}")
    assert status == 400 and f"at most {MAX_SAY} characters" in body.decode()


def test_without_the_servers_the_page_says_how_to_start_them():
    with serve_wsgi(make_demo_app()) as base:
        status, _, body = fetch(base + "/sockets")
        assert status == 200 and "wirekit echo --port 7007" in body.decode()
        assert fetch(base + "/sockets?say=hi")[0] == 503
        assert fetch(base + "/sockets?time")[0] == 503


def test_a_dead_echo_server_is_a_502_not_a_hang():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening: refused
        with serve_wsgi(make_demo_app(echo=dead, time=dead)) as base:
            status, _, body = fetch(base + "/sockets?say=hi")
            assert status == 502 and f"The echo server at {dead} failed" in body.decode()
            assert fetch(base + "/sockets?time")[0] == 502


def test_wirekit_serve_names_every_server_beside_the_site():
    server = subprocess.Popen(
        [sys.executable, "-m", "wirekit", "serve", "-p", "0", "--mail-port", "0",
         "--echo-port", "0", "--time-port", "0", "--ftp-port", "0", "--no-access-log"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()  # type: ignore[union-attr]
        echo = re.search(r"echo on 127\.0\.0\.1:(\d+)", line)
        clock = re.search(r"time on 127\.0\.0\.1:(\d+)", line)
        web = re.search(r"on (http://127\.0\.0\.1:\d+)/", line)
        assert echo and clock and web, line
        with socket.create_connection(("127.0.0.1", int(echo.group(1))), timeout=10) as s:
            s.sendall(b"beside\n")
            assert s.recv(100) == b"beside\n"
        assert f"wirekit connect 127.0.0.1:{clock.group(1)}" in fetch(
            web.group(1) + "/sockets")[2].decode()
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(30) == 0
