"""``wirekit mail send|serve|list|show``, run as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest


def serve(*args: str):
    """Start ``wirekit mail serve ARGS --port 0``; returns (process, port)."""
    proc = subprocess.Popen([sys.executable, "-m", "wirekit", "mail", "serve", "--port", "0",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(20)
    if not line or not line[0]:
        proc.kill()
        raise RuntimeError(proc.stderr.read().decode()[-2000:])
    banner = line[0].decode()
    assert "wirekit mail: listening on tcp 127.0.0.1:" in banner
    return proc, int(banner.split("127.0.0.1:", 1)[1].split()[0])


@pytest.fixture
def catcher_cli(tmp_path):
    procs = []

    def start(*args: str) -> int:
        proc, port = serve("--maildir", str(tmp_path / "mbox"), *args)
        procs.append(proc)
        return port

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(30)
        proc.stdout.close()
        proc.stderr.close()


@pytest.mark.parametrize("mode", ["threads", "prefork"])
def test_serve_send_list_show(mode, catcher_cli, cli, tmp_path):
    port = catcher_cli("-c", mode)
    attachment = tmp_path / "notes.txt"
    attachment.write_text("attached text\n")
    sent = cli("mail", "send", "--plain", "--server", f"127.0.0.1:{port}",
               "--to", "bob@example.org", "--bcc", "carol@example.org",
               "--from", "alice@example.org", "--subject", "Grüße", "--body", "Hello Bob",
               "--attach", str(attachment))
    assert sent.code == 0, sent.stderr
    assert sent.stdout.startswith("sent to bob@example.org, carol@example.org: 250 2.0.0")
    mbox = str(tmp_path / "mbox")
    listed = cli("mail", "list", "--maildir", mbox, "--json")
    [row] = json.loads(listed.stdout)
    assert (row["from"], row["to"], row["subject"]) == (
        "alice@example.org", ["bob@example.org", "carol@example.org"], "Grüße")
    assert row["date"] and row["size"] > 100
    table = cli("mail", "list", "--maildir", mbox).stdout.splitlines()
    assert table[0].split() == ["KEY", "DATE", "FROM", "TO", "SUBJECT", "SIZE"]
    assert "Grüße" in table[1]
    shown = cli("mail", "show", row["key"][:10], "--maildir", mbox)
    assert shown.code == 0, shown.stderr
    assert "Subject: Grüße" in shown.stdout and "Hello Bob" in shown.stdout
    assert "Attachments: notes.txt" in shown.stdout
    assert "Bcc" not in shown.stdout
    raw = cli("mail", "show", row["key"], "--maildir", mbox, "--raw")
    assert raw.stdout.startswith("Return-Path: <alice@example.org>")


def test_send_refuses_what_it_must(catcher_cli, cli, tmp_path):
    port = catcher_cli()
    server = f"127.0.0.1:{port}"
    base = ["mail", "send", "--server", server, "--from", "a@example.org", "--body", "x"]
    stripped = cli(*base, "--to", "b@example.org")  # STARTTLS by default, not offered
    assert stripped.code == 1 and "does not offer STARTTLS" in stripped.stderr
    cleartext = cli(*base, "--plain", "--to", "b@example.org", "--user", "alice")
    assert cleartext.code == 2 and "without TLS" in cleartext.stderr
    injected = cli(*base, "--plain", "--to", "b@example.org", "--bcc",
                   "c@example.org>\r\nRCPT TO:<evil@example.org")
    assert injected.code == 2 and "refusing" in injected.stderr
    missing = cli("mail", "show", "nothing", "--maildir", str(tmp_path / "mbox"))
    assert missing.code == 2 and "no message" in missing.stderr
    assert cli("mail", "list", "--maildir", str(tmp_path / "none")).code == 2


def test_serve_with_starttls_and_passwords(catcher_cli, cli, tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key, cafile = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    leaf.cert_chain_pems[0].write_to_path(cert)
    leaf.private_key_pem.write_to_path(key)
    ca.cert_pem.write_to_path(cafile)
    (tmp_path / "users").write_text("alice:wonderland\n")
    (tmp_path / "pw").write_text("wonderland\n")
    port = catcher_cli("--certfile", str(cert), "--keyfile", str(key),
                       "--passwords", str(tmp_path / "users"))
    base = ["mail", "send", "--server", f"127.0.0.1:{port}", "--from", "alice@example.org",
            "--to", "b@example.org", "--body", "secret"]
    unverified = cli(*base, "--user", "alice", "--password-file", str(tmp_path / "pw"))
    assert unverified.code == 1  # the test CA is not trusted by default
    sent = cli(*base, "--cafile", str(cafile), "--user", "alice", "--password-file",
               str(tmp_path / "pw"))
    assert sent.code == 0, sent.stderr
    anonymous = cli(*base, "--cafile", str(cafile))
    assert anonymous.code == 1 and "530" in anonymous.stderr
