"""`wirekit connect`, the course's telnet, driven as a user would through a subprocess."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import trustme

from wirekit.net import DatagramEndpoint, server_context


def echo_until_eof(conn: socket.socket) -> None:
    received = b""
    while chunk := conn.recv(4096):
        received += chunk
        conn.sendall(chunk)
    conn.sendall(b"[" + str(len(received)).encode() + b" bytes]\n")


def test_stdin_to_socket_to_stdout(cli, raw_server):
    peer = raw_server(echo_until_eof)
    result = cli("connect", peer.address, "--lf", input=b"hello\nworld\n")
    assert result.code == 0, result.stderr
    assert result.stdout == "hello\nworld\n[12 bytes]\n"


def test_host_and_port_as_two_arguments_with_crlf(cli, raw_server):
    got: list[bytes] = []

    def record(conn: socket.socket) -> None:
        data = b""
        while chunk := conn.recv(100):
            data += chunk
        got.append(data)
        conn.sendall(b"ok\r\n")

    peer = raw_server(record)
    host, port = peer.address.rsplit(":", 1)
    result = cli("connect", host, port, "--crlf", input=b"HELO x\nQUIT\n")
    assert result.code == 0, result.stderr
    assert got == [b"HELO x\r\nQUIT\r\n"]
    assert result.stdout == "ok\r\n"


def test_typed_lines_go_out_as_crlf_by_default_and_raw_with_lf(cli, raw_server):
    got: list[bytes] = []

    def record(conn: socket.socket) -> None:
        data = b""
        while chunk := conn.recv(100):
            data += chunk
        got.append(data)

    for flags, sent in [((), b"A\r\nB\r\n"), (("--lf",), b"A\nB\r\n")]:
        peer = raw_server(record)
        result = cli("connect", peer.address, *flags, "--wait", "0", input=b"A\nB\r\n")
        assert result.code == 0, result.stderr
        assert got.pop() == sent


def test_a_request_typed_as_on_slide_1_10_gets_an_answer(cli):
    # Typed with bare LF, the request used to get a 400 from wirekit's own server.
    from wirekit.http.server import HTTPServer

    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    server = HTTPServer(hello, "127.0.0.1:0").start()
    try:
        address = f"{server.address.host}:{server.address.port}"
        result = cli("connect", address, input=b"GET / HTTP/1.0\nHost: x\n\n")
    finally:
        server.shutdown(timeout=10)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("HTTP/1.1 200 OK\r\n") and result.stdout.endswith("hello")


def test_exits_when_the_server_closes_even_while_input_is_open(raw_server):
    peer = raw_server(lambda conn: conn.sendall(b"bye\n"))
    proc = subprocess.Popen([sys.executable, "-m", "wirekit", "connect", peer.address],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=20)  # communicate closes stdin only at the end...
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("connect did not exit after the server closed")
    assert proc.returncode == 0, err
    assert out == b"bye\n"


def test_server_closing_while_stdin_stays_open(raw_server):
    peer = raw_server(lambda conn: (conn.sendall(b"closing\n"), time.sleep(0.3)))
    proc = subprocess.Popen([sys.executable, "-m", "wirekit", "connect", peer.address],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # stdin is never closed here: only the server's close can end the command
    deadline = time.monotonic() + 20
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        pytest.fail("connect kept running after the server closed")
    assert proc.returncode == 0
    assert proc.stdout.read() == b"closing\n"
    proc.stdin.close()


def test_send_file_with_hex_view(cli, raw_server, tmp_path):
    request = tmp_path / "request.bin"
    request.write_bytes(b"\x00\x01ABC")
    peer = raw_server(echo_until_eof)
    result = cli("connect", peer.address, "--send", str(request), "--hex", "--lf")
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("00000000  00 01 41 42 43")
    assert "|..ABC" in result.stdout


def test_unix_socket(cli, raw_server, short_tmp):
    peer = raw_server(echo_until_eof, family="unix", path=str(short_tmp / "e.sock"))
    result = cli("connect", peer.address, "--lf", input=b"via unix\n")
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("via unix\n")


def test_udp_mode_sends_each_line_as_a_datagram(cli):
    server = DatagramEndpoint.bind("127.0.0.1:0")
    seen: list[bytes] = []

    def serve() -> None:
        for _ in range(2):
            datagram = server.receive(timeout=10)
            seen.append(datagram.data)
            server.send_to(datagram.data.upper(), datagram.sender)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        result = cli("connect", "--udp", "--wait", "1", str(server.address), input=b"one\ntwo\n")
    finally:
        thread.join(5)
        server.close()
    assert result.code == 0, result.stderr
    assert seen == [b"one\n", b"two\n"]
    assert result.stdout == "ONE\nTWO\n"


def test_udp_to_a_closed_port_says_nobody_listens(cli):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = cli("connect", "--udp", "--wait", "1", f"127.0.0.1:{port}", input=b"hi\n")
    assert result.code == 1
    assert "no server is listening" in result.stderr


def test_tls_with_a_test_ca(cli, raw_server, tmp_path):
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(
        str(tmp_path / "chain.pem"))
    context = server_context(str(tmp_path / "chain.pem"))

    def tls_echo(conn: socket.socket) -> None:
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"secure " + tls.recv(100))

    peer = raw_server(tls_echo)
    result = cli("connect", "--tls", "--lf", "--cafile", str(tmp_path / "ca.pem"), peer.address,
                 input=b"hi\n")
    assert result.code == 0, result.stderr
    assert result.stdout == "secure hi\n"


def test_tls_refuses_an_unknown_certificate(cli, raw_server, tmp_path):
    ca = trustme.CA()
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(
        str(tmp_path / "chain.pem"))
    context = server_context(str(tmp_path / "chain.pem"))

    def tls_server(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            context.wrap_socket(conn, server_side=True).close()

    peer = raw_server(tls_server)
    result = cli("connect", "--tls", peer.address, input=b"")
    assert result.code == 1
    assert "certificate" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["127.0.0.1:1", "80"], "either as HOST:PORT or"),
        (["--insecure", "127.0.0.1:1"], "only make sense with --tls"),
        (["--udp", "--tls", "127.0.0.1:1"], "cannot be combined"),
        (["[::1:80"], "missing ']'"),
    ],
)
def test_contradictory_or_malformed_arguments(cli, args, message):
    result = cli("connect", *args)
    assert result.code == 2
    assert message in result.stderr


def test_refused_connection_is_one_line_exit_1(cli):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        result = cli("connect", f"127.0.0.1:{port}")
    assert result.code == 1
    assert result.stderr.strip() == (
        f"wirekit connect: error: cannot connect to 127.0.0.1:{port}: Connection refused")


def test_standard_input_from_a_file_is_sent_whole(raw_server, tmp_path):
    request = tmp_path / "request.txt"
    request.write_bytes(b"from a file\n")
    peer = raw_server(echo_until_eof)
    with request.open("rb") as stdin:
        proc = subprocess.run([sys.executable, "-m", "wirekit", "connect", peer.address, "--lf"],
                              stdin=stdin, capture_output=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"from a file\n[12 bytes]\n"


def test_standard_input_from_dev_null(raw_server):
    peer = raw_server(lambda conn: conn.sendall(b"hello\n"))
    with open(os.devnull, "rb") as stdin:
        proc = subprocess.run([sys.executable, "-m", "wirekit", "connect", peer.address, "--lf"],
                              stdin=stdin, capture_output=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"hello\n"
