"""The shared http-requests corpus (gunicorn's request files), fed four ways.

Every valid file must be accepted with the right method, target, version, fields and content;
every invalid one refused with a 4xx (505 for HTTP/2.0) and nothing dispatched. The corpus was
written for gunicorn's defaults, so it runs with gunicorn's request-line limit (4094) and with
``dangerous_allow_missing_host`` (most files are HTTP/1.1 without ``Host``, which RFC 9112 §3.2
and SECURITY.md H11 make a 400 by default; see test_missing_host_is_refused_by_default).
The README's documented skips are honoured (conftest.py lists each with its reason).
"""

from __future__ import annotations

import pytest

from wirekit.config import Limits
from wirekit.proto.http import Connection, Role, State

CORPUS_LIMITS = Limits(max_request_line=4094)  # gunicorn's limit_request_line default

HELLO_WORLD = b"hello world"
# file -> [(method, target, version, body)] for every request a strict server dispatches.
EXPECTED: dict[str, list[tuple[str, str, str, bytes]]] = {
    "001.http": [("PUT", "/stuff/here?foo=bar", "1.0", b'{"nom": "nom"}')],
    "002.http": [("GET", "/test", "1.1", b"")],
    "003.http": [("GET", "/favicon.ico", "1.1", b"")],
    "004.http": [("GET", "/silly", "1.1", b"")],
    "005.http": [("GET", "/forums/1/topics/2375?page=1#posts-17408", "1.1", b"")],
    "006.http": [("GET", "/get_no_headers_no_body/world", "1.1", b"")],
    "007.http": [("GET", "/get_one_header_no_body", "1.1", b"")],
    "008.http": [("GET", "/unusual_content_length", "1.0", b"HELLO")],
    "009.http": [("POST", "/post_identity_body_world?q=search#hey", "1.1", b"World")],
    "010.http": [("POST", "/post_chunked_all_your_base", "1.1",
                  b"all your base are belong to us")],
    "011.http": [("POST", "/two_chunks_mult_zero_end", "1.1", HELLO_WORLD)],
    "012.http": [("POST", "/chunked_w_trailing_headers", "1.1", HELLO_WORLD)],
    "013.http": [("POST", "/chunked_w_extensions", "1.1", HELLO_WORLD)],
    "014.http": [("GET", '/with_"quotes"?foo="bar"', "1.1", b"")],
    "015.http": [("GET", "/test", "1.0", b"")],
    "017.http": [("GET", "/stuff/here?foo=bar", "1.0", b"")],
    "018.http": [("GET", "/first", "1.1", b""), ("GET", "/second", "1.1", b"")],
    "019.http": [("GET", "/first", "1.0", b"")],  # 1.0 without keep-alive: then close
    "020.http": [("GET", "/first", "1.0", b"GET /second HTTP/1.1\r\n\r\n")],
    "021.http": [("GET", "/first", "1.1", b"")],  # Connection: close
    "022.http": [("GET", "/first", "1.0", b""), ("GET", "/second", "1.1", b"")],
    "023.http": [("POST", "/two_chunks_mult_zero_end", "1.1", HELLO_WORLD),
                 ("GET", "/second", "1.1", b"")],
    "025.http": [("POST", "/chunked", "1.1", HELLO_WORLD)],
    "025_line.http": [("POST", "/chunked", "1.1", HELLO_WORLD)],
    "027.http": [("GET", "/\xc3\xa0%20k", "1.0", b"")],  # raw UTF-8 bytes, as latin-1 text
    "029.http": [("GET", "/stuff/here?foo=bar", "1.1", b"hello")],
    "030.http": [("GET", "/stuff/here?foo=bar", "1.1", b"hello")],
    "031.http": [("-BLARGH", "/foo", "1.1", b"")],
    "040.http": [("GET", "/keep/same/as?invalid/040", "1.0", b"tricked")],
    "100.http": [("GET", "///keeping_slashes", "1.1", b"")],
    "padding_01.http": [("GET", "/", "1.1", b"")],
    "rfc9110_body_framing_get_cl_nonzero_01.http": [("GET", "/foo", "1.1", b"hello")],
    "rfc9110_body_framing_get_cl_zero_01.http": [("GET", "/foo", "1.1", b"")],
    "rfc9110_body_framing_http10_cl_01.http": [("POST", "/foo", "1.0", b"hello")],
    "rfc9110_field_name_special_chars_01.http": [("GET", "/foo", "1.1", b"")],
    "rfc9110_field_value_htab_trim_01.http": [("GET", "/foo", "1.1", b"")],
    "rfc9110_field_value_obs_text_01.http": [("GET", "/foo", "1.1", b"")],
    "rfc9112_chunked_ext_quoted_01.http": [("POST", "/upload", "1.1", b"hello")],
    "rfc9112_chunked_size_leading_zeros_01.http": [("POST", "/upload", "1.1", b"hello")],
    "rfc9112_chunked_size_uppercase_hex_01.http": [("POST", "/upload", "1.1", b"0123456789")],
    "rfc9112_smuggle_gzip_chunked_01.http": [("POST", "/upload", "1.1", b"hello")],
    "rfc9112_smuggle_te_identity_chunked_01.http": [("POST", "/upload", "1.1", b"hello")],
    "rfc9112_target_absolute_01.http": [("GET", "http://example.com/foo?q=1", "1.1", b"")],
    "rfc9112_target_absolute_https_01.http": [("GET", "https://example.com/foo", "1.1", b"")],
    "rfc9112_target_absolute_ipv6_01.http": [("GET", "http://[::1]:8080/foo", "1.1", b"")],
    "rfc9112_target_absolute_userinfo_01.http": [
        ("GET", "http://user:pass@example.com:8080/foo?q=1", "1.1", b"")],
    "rfc9112_target_asterisk_options_01.http": [("OPTIONS", "*", "1.1", b"")],
    "rfc9112_target_authority_connect_01.http": [("CONNECT", "example.com:443", "1.1", b"")],
    "rfc9112_target_authority_ipv6_01.http": [("CONNECT", "[::1]:443", "1.1", b"")],
}  # fmt: skip
TRAILERS = {"012.http": (("Vary", "*"), ("Content-Type", "text/plain"))}


def naive_fields(data: bytes) -> tuple[tuple[str, str], ...]:
    """An independent reading of the first head's fields, good enough for valid input."""
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
    pairs = []
    for line in head:
        name, _, value = line.partition(b":")
        pairs.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return tuple(pairs)


def _skip_documented(kit, kind: str, name: str) -> None:
    reason = kit.documented_skip(kind, name)
    if reason:
        pytest.skip(reason)


def test_valid_file_is_accepted(kit, valid_name: str) -> None:
    name = valid_name
    _skip_documented(kit, "valid", name)
    data = kit.load_corpus("valid", name)
    if name == "099.http":
        pytest.skip("covered by test_valid_099_waits_for_its_declared_length")
    served = kit.serve_all_ways(data, **kit.corpus_options)
    assert served.status is None, f"refused: {served.error}"
    got = [(d.method, d.target, d.http_version, d.body) for d in served.dispatched]
    assert got == EXPECTED[name]
    first = served.dispatched[0]
    assert first.headers == naive_fields(data)
    assert first.trailers == TRAILERS.get(name, ())


def test_valid_099_waits_for_its_declared_length(kit) -> None:
    """The shared copy of 099 declares Content-Length 17914 but carries 8599 bytes (upstream's
    099.py expects 8599): the head is accepted and the server waits for the rest."""
    data = kit.load_corpus("valid", "099.http")
    served = kit.serve([data], eof=False, **kit.corpus_options)
    assert served.status is None
    assert served.heads == ["POST /test-form"]
    assert served.dispatched == []


def test_invalid_file_is_refused(kit, invalid_name: str) -> None:
    name = invalid_name
    _skip_documented(kit, "invalid", name)
    served = kit.serve_all_ways(kit.load_corpus("invalid", name), **kit.corpus_options)
    assert served.dispatched == [], "a request was dispatched from invalid input"
    assert served.status is not None, "invalid input was accepted"
    if name == "version_02.http":  # HTTP/2.0: 505 (SECURITY.md H11), the one 5xx here
        assert served.status == 505
    else:
        assert 400 <= served.status < 500, served.error


def test_missing_host_is_refused_by_default(kit) -> None:
    """Without the corpus option an HTTP/1.1 request with no Host is a 400 (RFC 9112 §3.2)."""
    served = kit.serve([kit.load_corpus("valid", "004.http")], limits=CORPUS_LIMITS)
    assert served.status == 400
    assert "Host" in str(served.error)


def test_connect_file_switches_to_a_tunnel(kit) -> None:
    conn = Connection(Role.SERVER)
    conn.receive_data(kit.load_corpus("valid", "rfc9112_target_authority_connect_01.http"))
    assert conn.next_event().method == "CONNECT"  # type: ignore[union-attr]
    conn.next_event()
    head = conn.send_response(200)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert conn.states == {Role.CLIENT: State.SWITCHED_PROTOCOL,
                           Role.SERVER: State.SWITCHED_PROTOCOL}  # fmt: skip


def test_expected_table_covers_every_valid_file(kit) -> None:
    names = {n for n in kit.corpus_files("valid") if not n.startswith("pp_")}
    if not names:
        pytest.skip("shared corpus not found")
    missing = {n for n in names - set(EXPECTED) - {"099.http"}
               if not kit.documented_skip("valid", n)}  # fmt: skip
    assert not missing
