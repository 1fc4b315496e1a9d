"""`wirekit lookup`, driven through a subprocess."""

import json


def test_forward_lookup(cli):
    result = cli("lookup", "localhost")
    assert result.code == 0, result.stderr
    assert "127.0.0.1" in result.stdout


def test_reverse_lookup_as_json(cli):
    result = cli("lookup", "127.0.0.1", "--json")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["query"] == "127.0.0.1"
    assert data["name"]


def test_ipv6_literal(cli):
    result = cli("lookup", "--family", "ipv6", "--json", "localhost")
    # the resolver may or may not have an IPv6 entry for localhost; either way, no traceback
    assert result.code in (0, 1)
    assert "Traceback" not in result.stderr


def test_service_lookups(cli):
    assert "80" in cli("lookup", "--service", "http").stdout
    assert "smtp" in cli("lookup", "--service", "25").stdout
    assert json.loads(cli("lookup", "--service", "--protocol", "udp", "domain", "--json")
                      .stdout)["port"] == 53


def test_unknown_name_fails_with_one_line(cli):
    result = cli("lookup", "no-such-host.invalid")
    assert result.code == 1
    assert result.stderr.strip() == (
        "wirekit lookup: error: cannot resolve 'no-such-host.invalid': "
        + result.stderr.split(": ", 3)[-1].strip()
    )
    assert len(result.stderr.strip().splitlines()) == 1


def test_garbage_is_a_usage_error(cli):
    result = cli("lookup", "two words")
    assert result.code == 2
    assert "not a host name or address" in result.stderr
