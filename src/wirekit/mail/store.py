"""Where the catcher keeps mail: a Maildir, which any mail client (mutt, Thunderbird via a
local folder, ``mailbox.Maildir``) can open.

Maildir (the qmail format, ``mailbox.Maildir``) writes each message to ``tmp/`` and renames
it into ``new/``: no locks between processes, so every concurrency mode, forked workers
included, can deliver into one folder at once. Each stored message starts with the trace
fields a delivering server adds (RFC 5321 §4.4): ``Return-Path`` (the envelope sender),
``Received`` (who handed it over, how: RFC 3848's ESMTPS/ESMTPSA, RFC 6531's UTF8SMTP), and
one ``Delivered-To`` per envelope recipient, so Bcc recipients stay visible to a test.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import email.utils
import glob
import itertools
import mailbox
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from wirekit.errors import ConfigError

__all__ = ["CaughtMessage", "Envelope", "MaildirStore"]


@dataclass(frozen=True, slots=True)
class Envelope:
    """How a message arrived: the SMTP envelope and the session around it."""

    sender: str
    recipients: tuple[str, ...]
    client: str = ""  # the peer's address
    hello: str = ""  # the EHLO/HELO name it gave
    tls: bool = False
    username: str | None = None  # who authenticated
    smtputf8: bool = False

    @property
    def protocol(self) -> str:
        """The ``with`` of the Received field (RFC 3848, RFC 6531 §3.7.3)."""
        name = "UTF8SMTP" if self.smtputf8 else "ESMTP"
        return name + ("S" if self.tls else "") + ("A" if self.username else "")


@dataclass(frozen=True)
class CaughtMessage:
    """One stored message, as ``wirekit mail list`` shows it."""

    key: str
    path: Path
    sender: str
    recipients: tuple[str, ...]
    subject: str
    date: str
    size: int
    message: EmailMessage = field(repr=False)

    @property
    def text(self) -> str:
        """The plain-text part (or the HTML one, or ``""``): what ``wirekit mail show``
        prints."""
        part = self.message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if isinstance(part, EmailMessage) else ""

    @property
    def raw(self) -> bytes:
        return self.path.read_bytes()


class MaildirStore:
    """A Maildir at ``path`` (created when missing) for the catcher to deliver into."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        try:
            if create:  # Maildir(create=True) skips an existing folder without tmp/new/cur
                for sub in ("tmp", "new", "cur"):
                    (self.path / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
            self.maildir = mailbox.Maildir(self.path, factory=None, create=create)
        except (OSError, mailbox.Error) as exc:
            raise ConfigError(f"cannot open the Maildir {str(self.path)!r}: {exc}") from exc
        self._tmp, self._new = str(self.path / "tmp"), str(self.path / "new")
        self._counter = itertools.count()  # next() on it is atomic: threads share it
        # The host part of a name may not hold "/" or ":" (Maildir's own escapes).
        self._host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")

    def deliver(self, data: bytes, envelope: Envelope, hostname: str) -> str:
        """Store ``data`` (lines ending in CRLF, as SMTP carries them) with trace fields;
        returns its key (the name ``wirekit mail show`` takes)."""
        trace = [f"Return-Path: <{envelope.sender}>"]
        trace += [f"Delivered-To: {rcpt}" for rcpt in envelope.recipients]
        hello = envelope.hello or "unknown"
        trace.append(f"Received: from {hello} ({envelope.client})\n\tby {hostname} with "
                     f"{envelope.protocol}; {email.utils.formatdate(localtime=True)}")
        head = ("\n".join(trace) + "\n").encode()
        body = data.replace(b"\r\n", b"\n")  # Maildir files use the local line end
        return self._write(head, body)

    def _write(self, *parts: bytes) -> str:
        """Maildir delivery (https://cr.yp.to/proto/maildir.html): a file under a unique name
        in ``tmp/``, written and synced to disk before it is linked into ``new/``, so a
        message we accepted (250) survives a crash and a reader never sees half of one.

        What ``mailbox.Maildir.add`` does, minus its extra calls (a stat of the new name,
        buffered file objects, path joins); the time that is left is the disk's sync and
        create (140 µs to 700 µs a message on this VM's disk, as its I/O budget runs out)."""
        name = self._unique_name()
        tmp = os.path.join(self._tmp, name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            for part in parts:
                view = memoryview(part)
                while view:
                    view = view[os.write(fd, view):]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        os.close(fd)
        final = os.path.join(self._new, name)
        try:
            os.link(tmp, final)  # the spec's way, and mailbox's: never replaces a file
        except PermissionError:
            os.rename(tmp, final)  # file systems without hard links
        else:
            os.unlink(tmp)
        return name

    def _unique_name(self) -> str:
        """``seconds.MmicrosPpidQcount.host``, the form Python's mailbox module uses: unique
        across threads (the counter), forked workers (the pid) and hosts sharing a folder."""
        now = time.time_ns()
        seconds, micros = divmod(now // 1000, 1_000_000)
        return f"{seconds}.M{micros}P{os.getpid()}Q{next(self._counter)}.{self._host}"

    def keys(self) -> list[str]:
        """Keys oldest first (Maildir names start with the delivery time)."""
        return sorted(self.maildir.keys(), key=self._mtime)

    def _mtime(self, key: str) -> tuple[float, str]:
        try:
            return self._file(key).stat().st_mtime, key
        except OSError:
            return 0.0, key

    def _file(self, key: str) -> Path:
        """The file of ``key``: in ``new/``, or in ``cur/`` with ``:2,FLAGS`` once a mail
        client has seen it."""
        for sub in ("new", "cur"):
            folder = self.path / sub
            if (folder / key).is_file():
                return folder / key
            for found in folder.glob(glob.escape(key) + ":*"):
                return found
        raise KeyError(key)

    def get(self, key: str) -> CaughtMessage:
        """The message stored as ``key`` (a unique prefix of it is enough)."""
        matches = [k for k in self.maildir.iterkeys() if k.startswith(key)]
        if len(matches) != 1:
            what = "no message" if not matches else f"{len(matches)} messages"
            raise ConfigError(f"{what} in {str(self.path)!r} with the key {key!r}")
        return self._load(matches[0])

    def __iter__(self) -> Iterator[CaughtMessage]:
        for key in self.keys():
            try:
                yield self._load(key)
            except (OSError, KeyError):
                continue  # removed meanwhile

    def __len__(self) -> int:
        return len(self.maildir)

    def _load(self, key: str) -> CaughtMessage:
        path = self._file(key)
        raw = path.read_bytes()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)  # the default policy makes these
        sender = str(message.get("Return-Path", "")).strip().strip("<>")
        recipients = tuple(str(v) for v in message.get_all("Delivered-To", []))
        date = str(message.get("Date", "")) or email.utils.formatdate(path.stat().st_mtime,
                                                                       localtime=True)
        return CaughtMessage(key, path, sender, recipients, str(message.get("Subject", "")),
                             date, len(raw), message)
