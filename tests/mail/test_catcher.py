"""The catcher for users' tests (``wirekit.testing``), the Maildir store and the password
table."""

from __future__ import annotations

import mailbox
import smtplib
import socket
from email.message import EmailMessage

import pytest

from wirekit.errors import ConfigError
from wirekit.mail import MaildirStore, MailServer, send
from wirekit.mail.server import read_password_file
from wirekit.mail.store import Envelope
from wirekit.testing import catch_mail


def note(subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "app@example.org", "user@example.org", subject
    msg.set_content(f"This is {subject}.\n")
    return msg


def test_the_fixture_catches_what_code_sends(wirekit_smtp_catcher):
    """``wirekit_smtp_catcher`` comes from ``wirekit.testing.pytest_plugin`` (see conftest.py)."""
    send(note("welcome"), wirekit_smtp_catcher.host, wirekit_smtp_catcher.port, tls=None)
    [caught] = wirekit_smtp_catcher.messages  # stored before the 250: no waiting
    assert (caught.subject, caught.sender, caught.recipients) == (
        "welcome", "app@example.org", ("user@example.org",))
    assert caught.text == "This is welcome.\n"
    wirekit_smtp_catcher.clear()
    assert wirekit_smtp_catcher.messages == []


def test_the_context_manager_stops_the_server_and_removes_its_maildir():
    with catch_mail() as catcher:
        with smtplib.SMTP(catcher.host, catcher.port, timeout=10) as smtp:
            smtp.send_message(note("one"))
            smtp.send_message(note("two"))
        assert [m.subject for m in catcher.messages] == ["one", "two"]
        folder, port = catcher.maildir, catcher.port
    assert not folder.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


def test_teardown_happens_when_the_block_raises(tmp_path):
    with pytest.raises(RuntimeError), catch_mail(maildir=tmp_path / "kept") as catcher:
        port = catcher.port
        raise RuntimeError("the test failed")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    assert (tmp_path / "kept" / "new").is_dir()  # a maildir of the caller's is kept


def test_deliveries_leave_nothing_in_tmp_and_fall_back_to_rename(tmp_path, monkeypatch):
    """Each message is linked from tmp/ into new/ (or renamed, where the file system has no
    hard links); a delivery that fails midway leaves no half file behind."""
    import os

    import wirekit.mail.store as store_module

    store = MaildirStore(tmp_path / "box")
    envelope = Envelope("a@b.example", ("c@d.example",))
    first = store.deliver(b"Subject: one\r\n\r\nx\r\n", envelope, "catcher.test")

    def no_hard_links(src, dst):
        raise PermissionError("no hard links here")

    monkeypatch.setattr(store_module.os, "link", no_hard_links)
    second = store.deliver(b"Subject: two\r\n\r\ny\r\n", envelope, "catcher.test")
    monkeypatch.setattr(store_module.os, "fsync", lambda fd: (_ for _ in ()).throw(
        OSError(5, "disk gone")))
    with pytest.raises(OSError, match="disk gone"):
        store.deliver(b"Subject: three\r\n\r\nz\r\n", envelope, "catcher.test")
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path / "box" / "new")) == sorted([first, second])
    assert os.listdir(tmp_path / "box" / "tmp") == []
    assert first != second and [m.subject for m in store] == ["one", "two"]


def test_a_standard_mail_reader_opens_the_maildir(tmp_path):
    store = MaildirStore(tmp_path / "box")
    key = store.deliver(b"Subject: hi\r\nFrom: a@b.example\r\n\r\nbody\r\n",
                        Envelope("a@b.example", ("c@d.example", "e@f.example"), "127.0.0.1:1",
                                 "client.test", tls=True, username="alice"),
                        "catcher.test")
    box = mailbox.Maildir(tmp_path / "box", create=False)
    [stored] = list(box)
    assert stored["Subject"] == "hi" and stored.get_payload() == "body\n"
    assert stored.get_all("Delivered-To") == ["c@d.example", "e@f.example"]
    assert "with ESMTPSA" in stored["Received"]
    assert store.get(key[:12]).key == key
    with pytest.raises(ConfigError):
        store.get("nothing-like-it")
    seen = box.get_message(key)  # read in a mail client: moved to cur/ with a flag
    seen.set_subdir("cur")
    seen.add_flag("S")
    box[key] = seen
    assert next(iter((tmp_path / "box" / "cur").iterdir())).name.endswith(":2,S")
    assert [m.subject for m in store] == ["hi"]


def test_password_files(tmp_path):
    path = tmp_path / "passwords"
    path.write_text("# users\nalice:wonder:land\n\nbob:builder\n")
    assert read_password_file(path) == {"alice": "wonder:land", "bob": "builder"}
    path.write_text("no colon here\n")
    with pytest.raises(ConfigError, match="user:password"):
        read_password_file(path)
    with pytest.raises(ConfigError, match="cannot read"):
        read_password_file(tmp_path / "missing")
    server = MailServer(tmp_path / "m", "127.0.0.1:0", passwords={"alice": "secret"})
    try:
        assert server.check_password("alice", "secret")
        assert not server.check_password("alice", "Secret")
        assert not server.check_password("mallory", "secret")
        assert server.settings.require_auth and server.settings.auth_mechanisms
    finally:
        server.close()


def test_implicit_tls_needs_a_context(tmp_path):
    with pytest.raises(ConfigError):
        MailServer(tmp_path / "m", "127.0.0.1:0", implicit_tls=True)
