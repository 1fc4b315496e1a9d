"""`wirekit connections` sees a socket the test opened."""

import json

from wirekit.net import listen


def test_listening_socket_appears_in_json_and_table(cli):
    with listen("127.0.0.1:0") as listener:
        port = listener.address.port
        result = cli("connections", "--listening", "--port", str(port), "--json")
        assert result.code == 0, result.stderr
        rows = json.loads(result.stdout)
        assert [(r["protocol"], r["local"], r["state"]) for r in rows] == [
            ("tcp", f"127.0.0.1:{port}", "LISTEN")]
        table = cli("connections", "-l", "-p", str(port))
        assert table.stdout.splitlines()[0].split()[:4] == ["PROTO", "LOCAL", "REMOTE", "STATE"]
        assert f"127.0.0.1:{port}" in table.stdout


def test_unix_kind(cli, short_tmp):
    with listen(f"unix:{short_tmp / 'x.sock'}"):
        result = cli("connections", "--kind", "unix", "--json")
        assert result.code == 0
        assert any(r["local"].endswith("x.sock") for r in json.loads(result.stdout))
