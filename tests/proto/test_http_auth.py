"""``wirekit.proto.http.auth``: challenge parsing (linear, bounded) and RFC 7616 vectors."""

from __future__ import annotations

import pytest

from wirekit.errors import ConfigError, RemoteProtocolError
from wirekit.proto.http.auth import (
    MAX_PARAMS,
    Challenge,
    basic_credentials,
    digest_credentials,
    digest_response,
    parse_challenges,
)

# RFC 7616 §3.9.1: "Mufasa" / "Circle of Life" on GET /dir/index.html.
RFC_PARAMS = {
    "realm": "http-auth@example.org",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "opaque": "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
    "qop": "auth, auth-int",
}
RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


@pytest.mark.parametrize(("algorithm", "expected"), [
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
])  # fmt: skip
def test_rfc7616_examples(algorithm, expected):
    params = {**RFC_PARAMS, "algorithm": algorithm}
    response = digest_response(params, method="GET", uri="/dir/index.html", username="Mufasa",
                               password="Circle of Life", nc="00000001", cnonce=RFC_CNONCE)
    assert response == expected
    header = digest_credentials(Challenge("digest", params), method="GET",
                                uri="/dir/index.html", username="Mufasa",
                                password="Circle of Life", nc=1, cnonce=RFC_CNONCE)
    (parsed,) = parse_challenges([header])
    assert parsed.params["response"] == expected
    assert parsed.params["nc"] == "00000001" and parsed.params["qop"] == "auth"
    assert parsed.params["opaque"] == RFC_PARAMS["opaque"]


def test_rfc2617_example_without_qop_style_fallback():
    # RFC 2617 §3.5 (qop=auth) as a second, independent vector.
    params = {"realm": "testrealm@host.com", "nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093"}
    assert digest_response(params, method="GET", uri="/dir/index.html", username="Mufasa",
                           password="Circle Of Life", nc="00000001", cnonce="0a4f113b"
                           ) == "6629fae49393a05397450978507c4ef1"


def test_several_challenges_in_one_and_several_fields():
    found = parse_challenges([
        'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
        "Negotiate abc123==",
    ])  # fmt: skip
    assert [c.scheme for c in found] == ["newauth", "basic", "negotiate"]
    assert found[0].params == {"realm": "apps", "type": "1", "title": 'Login to "apps"'}
    assert found[2].token68 == "abc123=="


def test_many_commas_parse_in_linear_time():
    # CVE-2020-8492 / CVE-2021-3733: "Basic " + "," * 65536 made urllib's regex exponential.
    found = parse_challenges(["Basic " + "," * 65536 + 'realm="x"'])
    assert found == [Challenge("basic", {"realm": "x"})]


def test_too_many_params_are_refused():
    header = "Digest " + ", ".join(f"p{i}=v" for i in range(MAX_PARAMS + 1))
    with pytest.raises(RemoteProtocolError, match="auth parameters"):
        parse_challenges([header])
    many = "Digest " + ", ".join(f'p{i}="v"' for i in range(100_000))
    with pytest.raises(RemoteProtocolError):
        parse_challenges([many])


@pytest.mark.parametrize("bad", ['Digest realm="unterminated', "=oops", 'Basic realm="a" junk'])
def test_malformed_challenges(bad):
    with pytest.raises(RemoteProtocolError):
        parse_challenges([bad])


def test_basic_credentials():
    assert basic_credentials("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    assert basic_credentials("ü", "€") == "Basic w7w64oKs"
    with pytest.raises(ConfigError):
        basic_credentials("a:b", "c")
    with pytest.raises(ConfigError):
        basic_credentials("a", "b\r\nX-Injected: 1")


def test_digest_refuses_auth_int_only_and_quotes_values():
    with pytest.raises(RemoteProtocolError, match="qop"):
        digest_credentials(Challenge("digest", {"nonce": "n", "qop": "auth-int"}), method="GET",
                           uri="/", username="u", password="p", nc=1, cnonce="c")
    header = digest_credentials(Challenge("digest", {"nonce": 'a"b', "realm": "r\\"}),
                                method="GET", uri="/", username='we"ird', password="p", nc=1,
                                cnonce="c")
    (parsed,) = parse_challenges([header])
    assert parsed.params["username"] == 'we"ird' and parsed.params["nonce"] == 'a"b'
    assert parsed.params["realm"] == "r\\"
    assert "qop" not in parsed.params  # RFC 2069 form when the challenge had no qop


def test_userhash_and_unicode_username():
    challenge = Challenge("digest", {"nonce": "n", "realm": "r", "qop": "auth",
                                     "algorithm": "SHA-256", "userhash": "true"})
    (parsed,) = parse_challenges([digest_credentials(challenge, method="GET", uri="/",
                                                     username="J\u00e4s\u00f8n", password="p",
                                                     nc=1, cnonce="c")])
    assert len(parsed.params["username"]) == 64 and parsed.params["userhash"] == "true"
    plain = Challenge("digest", {"nonce": "n", "realm": "r", "qop": "auth"})
    (parsed,) = parse_challenges([digest_credentials(plain, method="GET", uri="/",
                                                     username="J\u00e4s\u00f8n", password="p",
                                                     nc=1, cnonce="c")])
    assert parsed.params["username*"] == "UTF-8''J%C3%A4s%C3%B8n"
