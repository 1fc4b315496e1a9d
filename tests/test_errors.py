"""The exception tree: every wirekit error is also the builtin a caller would catch."""

import pickle

import pytest

import wirekit
from wirekit import errors


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.ConfigError, ValueError),
        (errors.InvalidAddress, ValueError),
        (errors.NetworkError, OSError),
        (errors.ConnectError, ConnectionError),
        (errors.ConnectionClosed, ConnectionError),
        (errors.IncompleteRead, ConnectionError),
        (errors.Timeout, TimeoutError),
        (errors.AuthenticationError, PermissionError),
    ],
)
def test_each_error_is_also_its_builtin_category(cls, builtin):
    assert issubclass(cls, wirekit.WirekitError)
    assert issubclass(cls, builtin)


def test_every_public_error_derives_from_the_root():
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), wirekit.WirekitError), name
        assert getattr(wirekit, name) is getattr(errors, name)


def test_incomplete_read_says_how_many_bytes_arrived_of_how_many():
    exc = errors.IncompleteRead(b"abc", 10)
    assert "3 of 10 bytes" in str(exc)
    assert exc.partial == b"abc"
    assert exc.expected == 10
    again = pickle.loads(pickle.dumps(exc))
    assert (again.partial, again.expected, str(again)) == (b"abc", 10, str(exc))


def test_timeout_names_its_phase():
    exc = errors.Timeout("TLS handshake", 2.5)
    assert str(exc) == "timed out during TLS handshake (after 2.5 s)"
    assert pickle.loads(pickle.dumps(exc)).phase == "TLS handshake"


def test_network_error_keeps_errno_but_prints_a_plain_sentence():
    exc = errors.ConnectError(111, "cannot connect to 127.0.0.1:1: Connection refused")
    assert exc.errno == 111
    assert str(exc) == "cannot connect to 127.0.0.1:1: Connection refused"


def test_protocol_errors_carry_the_http_status_they_map_to():
    assert errors.RemoteProtocolError("bad").status == 400
    assert errors.LocalProtocolError("bad header from the app").status == 500
    assert errors.RemoteProtocolError("too long", status=414).status == 414
    assert errors.MessageTooLarge("big", limit="max_body").limit == "max_body"
