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
        table = cli("connections", "-tlnp", "--port", str(port))  # ss's -p: processes
        assert table.stdout.splitlines()[0].split()[:4] == ["PROTO", "LOCAL", "REMOTE", "STATE"]
        assert f"127.0.0.1:{port}" in table.stdout


def test_unix_kind(cli, short_tmp):
    with listen(f"unix:{short_tmp / 'x.sock'}"):
        result = cli("connections", "--kind", "unix", "--json")
        assert result.code == 0
        assert any(r["local"].endswith("x.sock") for r in json.loads(result.stdout))


def test_a_unix_stream_server_is_listed_as_listening(cli, short_tmp):
    # psutil reports every Unix socket as NONE: --listening never showed a Unix server.
    path = str(short_tmp / "srv.sock")
    with listen(f"unix:{path}"):
        result = cli("connections", "-xl", "--json")
        assert result.code == 0, result.stderr
        rows = [r for r in json.loads(result.stdout) if r["local"] == path]
        assert [(r["protocol"], r["state"]) for r in rows] == [("unix", "LISTEN")]


def test_ss_and_netstat_flags_choose_families(cli):
    with listen("127.0.0.1:0") as listener:
        port = listener.address.port
        tcp = json.loads(cli("connections", "-t", "-l", "--port", str(port), "--json").stdout)
        udp = json.loads(cli("connections", "-u", "-l", "--port", str(port), "--json").stdout)
    assert [r["protocol"] for r in tcp] == ["tcp"] and udp == []
    both = cli("connections", "-t", "--kind", "udp")
    assert both.code == 2 and "wirekit connections" in both.stderr
