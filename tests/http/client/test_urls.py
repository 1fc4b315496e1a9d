"""URL parsing: one reading or an error (SECURITY.md K05, K11), and redirect resolution."""

from __future__ import annotations

import pytest

from wirekit.http.client.errors import InvalidURL, RedirectError, UnsupportedScheme
from wirekit.http.client.redirects import redirect_url
from wirekit.http.client.urls import encode_params, parse_url


def test_parts_of_a_plain_url():
    url = parse_url("HTTP://User:p%40ss@Example.COM:8080/a b/é?q=1 2&x=ü#frag")
    assert (url.scheme, url.host, url.port) == ("http", "example.com", 8080)
    assert (url.username, url.password) == ("User", "p@ss")
    assert url.target == "/a%20b/%C3%A9?q=1%202&x=%C3%BC"
    assert url.authority == "example.com:8080"
    assert url.absolute == "http://example.com:8080/a%20b/%C3%A9?q=1%202&x=%C3%BC"


def test_default_ports_are_implied_and_not_written():
    assert parse_url("https://h/").port == 443
    assert parse_url("https://h:443/").authority == "h"
    assert parse_url("http://h").target == "/"
    assert parse_url("http://h:/x").port == 80


def test_ipv6_and_idna_hosts():
    url = parse_url("http://[::1]:9000/")
    assert (url.host, url.port, url.authority) == ("::1", 9000, "[::1]:9000")
    assert parse_url("http://bücher.example/").host == "xn--bcher-kva.example"


def test_international_names_follow_idna_2008_not_2003():
    # IDNA 2003 (the stdlib codec) maps ß to ss: "faß.de" would reach fass.de, another domain.
    assert parse_url("http://faß.de/").host == "xn--fa-hia.de"
    fullwidth = "".join(chr(0xFF00 + ord(c) - 0x20) for c in "EXAMPLE")  # full-width letters
    assert parse_url(f"http://{fullwidth}.com/").host == "example.com"  # UTS 46 mapping
    with pytest.raises(InvalidURL, match="international host"):
        parse_url("http://a\u200db.example/".encode().decode("unicode_escape"))


@pytest.mark.parametrize("text", [
    "http://127.0.0.1/?a=1 HTTP/1.1\r\nX-Injected: 1",   # CVE-2019-9740
    "http://127.0.0.1/a\nb",                              # CVE-2019-9947
    "http://127.0.0.1\r\nX: 1/",                          # CRLF in the host
    "http://127.0.0.1/a\tb",
    "http://127.0.0.1/\x00",
    "http://a@b@c/",                                      # which host?
    "http://[::1]x/",
    "http://[::1/",
    "http://[nonsense]/",
    "http://::1/",
    "http://host:99999/",
    "http://host:8o/",
    "http:///path",
    "http:/path",
    "//host/path",
    "http://0x7f.1/",                                     # numeric forms parsers disagree on
    "http://1.2.3/",
    "http://exa mple.com/",
])  # fmt: skip
def test_ambiguous_or_injected_urls_are_refused(text):
    with pytest.raises(InvalidURL):
        parse_url(text)


def test_url_errors_are_value_errors():
    with pytest.raises(ValueError, match="control character"):
        parse_url("http://h/\r\n")


def test_leading_and_trailing_space_is_stripped_before_the_scheme_is_read():
    # CVE-2023-24329: " file:///etc/passwd" must still be seen as file:.
    assert parse_url("  http://h/x  ").target == "/x"
    assert parse_url(" file:///etc/passwd").scheme == "file"


def test_unsupported_schemes():
    with pytest.raises(UnsupportedScheme):
        parse_url("gopher://h/")
    with pytest.raises(UnsupportedScheme):
        parse_url("ftp://h/x", schemes=("http", "https"))
    with pytest.raises(InvalidURL):
        parse_url("file://otherhost/etc/passwd")


def test_host_ending_in_a_digit_is_still_a_name():
    assert parse_url("http://web1/").host == "web1"
    assert parse_url("http://1.2.3.4/").host == "1.2.3.4"


def test_params_encoding():
    assert encode_params({"q": "a b&c", "n": [1, 2], "skip": None}) == "q=a+b%26c&n=1&n=2"
    assert encode_params([("x", "é")]) == "x=%C3%A9"
    url = parse_url("http://h/p?a=1").with_query(encode_params({"b": "2"}))
    assert url.target == "/p?a=1&b=2"
    with pytest.raises(InvalidURL):
        encode_params("a=1\r\nX: y")


BASE = parse_url("http://h.test:8000/dir/page?x=1")


@pytest.mark.parametrize(("location", "expected"), [
    ("/abs", "http://h.test:8000/abs"),
    ("rel", "http://h.test:8000/dir/rel"),
    ("../up?q=1", "http://h.test:8000/up?q=1"),
    ("./", "http://h.test:8000/dir/"),
    ("?y=2", "http://h.test:8000/dir/page?y=2"),
    ("//other.test/x", "http://other.test/x"),
    ("https://other.test/", "https://other.test/"),
    ("/caf\u00c3\u00a9", "http://h.test:8000/caf%C3%A9"),  # UTF-8 bytes read as latin-1
])  # fmt: skip
def test_redirect_locations_resolve(location, expected):
    assert redirect_url(location, BASE).absolute == expected


@pytest.mark.parametrize("location", [
    "file:///etc/passwd", "FILE:///etc/passwd", " file:///etc/passwd", "local_file:///etc/passwd",
    "data:text/plain,hi", "gopher://h/", "ftp://h/x", "javascript:alert(1)",
    "http://a@b@c/", "http://h/\x00",
])  # fmt: skip
def test_redirects_to_other_schemes_or_bad_urls_are_refused(location):
    # SECURITY.md K01: CVE-2011-1521, CVE-2019-9948, CVE-2023-24329.
    with pytest.raises(RedirectError):
        redirect_url(location, BASE)


def test_redirect_target_drops_userinfo():
    url = redirect_url("http://user:pw@other.test/", BASE)
    assert url.username is None and url.password is None
