"""``wirekit ftp``: list, download, upload, make, remove and rename over FTP (and FTPS), or serve
a directory with pyftpdlib.

    wirekit ftp serve ./public                       # 127.0.0.1:2121, anonymous, read-only
    wirekit ftp ls ftp://127.0.0.1:2121/pub/
    wirekit ftp get ftp://127.0.0.1:2121/pub/big.iso -C -       # resume what is there
    wirekit ftp put report.pdf ftp://alice@files.example.org/incoming/ --tls

A URL names the server, the port and the path; a path ending in ``/`` (or naming nothing) is
a directory. ``ftps://`` is implicit FTPS (TLS from the first byte, port 990 unless the URL
says), as curl reads it; ``--tls`` on an ``ftp://`` URL is explicit FTPS (AUTH TLS). The
password comes from the URL, ``--password-file`` or a prompt. Failures print one line and
exit by cause (``--help`` lists the codes; curl's numbers where curl has one).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, Final
from urllib.parse import unquote

import click

from wirekit.cli import exits
from wirekit.cli.output import safe_text
from wirekit.config import Timeouts, TLSConfig
from wirekit.errors import AuthenticationError, ConfigError, InvalidAddress, WirekitError
from wirekit.ftp import Client, Entry, FTPRefused, TransferIncomplete
from wirekit.ftp.client import TLSMode
from wirekit.http.client.errors import InvalidURL
from wirekit.http.client.urls import URL, parse_url

ACCESS_DENIED: Final = 9
PARTIAL: Final = 18
READ: Final = 26
LOGIN_DENIED: Final = 67
NOT_FOUND: Final = 78
#: (code, meaning) beyond the network ones of ``wirekit get`` (``wirekit.cli.exits``).
FTP_EXIT_CODES: Final = (
    (0, "success"),
    (exits.FAILURE, "any other failure (a broken reply, pyftpdlib missing for serve...)"),
    (exits.USAGE, "usage: a bad option, or a name holding CR/LF"),
    (exits.BAD_URL, "bad URL"),
    (exits.LOOKUP, "the host name did not resolve"),
    (exits.CONNECT, "cannot connect (refused, unreachable; the data connection too)"),
    (ACCESS_DENIED, "the server refused the command (4yz/5yz other than 550)"),
    (PARTIAL, "the transfer ended before the size the server announced"),
    (exits.WRITE, "cannot write the local file"),
    (READ, "cannot read the local file"),
    (exits.TIMEOUT, "timed out (a reply, the data connection or the transfer)"),
    (exits.TLS_HANDSHAKE, "TLS failed, or the server refused AUTH TLS / PROT P"),
    (exits.CERTIFICATE, "the server's certificate did not verify"),
    (LOGIN_DENIED, "login refused"),
    (NOT_FOUND, "no such remote file or directory (550)"),
    (exits.INTERRUPTED, "interrupted (Ctrl-C)"),
)
_EPILOG: Final = "\b\nExit codes:\n" + "\n".join(
    f"  {code:<4} {meaning}" for code, meaning in FTP_EXIT_CODES) + "\n"


# -- shared options --------------------------------------------------------------------------
def _client_options(function: Any) -> Any:
    options = [
        click.option("--tls", is_flag=True,
                     help="Explicit FTPS: AUTH TLS, certificate verified, files encrypted "
                          "(an ftps:// URL is implicit FTPS, port 990: TLS from the start)."),
        click.option("-u", "--user", metavar="USER", help="Log in as USER (default anonymous)."),
        click.option("--password-file", type=click.Path(exists=True, dir_okay=False,
                                                        path_type=Path), metavar="FILE",
                     help="Read the password from FILE (else the URL's, else a prompt)."),
        click.option("--cafile", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
                     help="Trust the CA certificates in FILE (a test CA) besides the system's."),
        click.option("-k", "--insecure", is_flag=True,
                     help="With --tls or ftps://, do not verify the certificate."),
        click.option("--active", is_flag=True,
                     help="Active mode (EPRT/PORT): the server connects back to us."),
        click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0,
                     show_default=True, metavar="SECONDS",
                     help="Each reply and each wait for data; connections get 5 s at most."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _parse(text: str) -> URL:
    try:
        return parse_url(text, schemes=("ftp", "ftps"))
    except (InvalidURL, InvalidAddress) as exc:
        raise exits.RequestFailed(str(exc), exits.BAD_URL) from None


def _remote_path(url: URL) -> str | None:
    """The URL's path, percent-decoded, relative to where the login leaves us."""
    path = unquote(url.path).lstrip("/")
    return path or None


def _password(url: URL, user: str | None, password_file: Path | None) -> str | None:
    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    if url.password is not None:
        return url.password
    if user is None:
        return None  # anonymous
    if not sys.stdin.isatty():
        raise click.UsageError("--user needs a password in the URL or --password-file when "
                               "not run on a terminal")
    return getpass.getpass(f"Password for {user}: ")


def _client(url: URL, options: dict[str, Any]) -> Client:
    user = options["user"] or url.username
    context = None
    tls: TLSMode = "implicit" if url.scheme == "ftps" else bool(options["tls"])
    if tls:
        context = TLSConfig(verify=not options["insecure"], cafile=options["cafile"])
    timeout = options["timeout"]
    return Client(url.host, url.port, user=user,
                  password=_password(url, user, options["password_file"]),
                  tls=tls, context=context, passive=not options["active"],
                  timeouts=Timeouts(connect=min(5.0, timeout), read=timeout, write=timeout))


@contextlib.contextmanager
def _failures() -> Iterator[None]:
    """Every failure as one line and its exit code (``FTP_EXIT_CODES``)."""
    try:
        yield
    except AuthenticationError as exc:
        raise exits.RequestFailed(str(exc), LOGIN_DENIED) from None
    except FTPRefused as exc:
        raise exits.RequestFailed(str(exc), NOT_FOUND if exc.not_found else ACCESS_DENIED
                                  ) from None
    except TransferIncomplete as exc:
        raise exits.RequestFailed(f"{exc} (resume with -C -)", PARTIAL) from None
    except ConfigError:
        raise  # exit 2, as a usage error
    except WirekitError as exc:
        raise exits.RequestFailed(str(exc), exits.exit_code(exc)) from None
    except OSError as exc:  # not the network's (that is a WirekitError): the local file's
        raise exits.RequestFailed(f"{exc.filename or 'output'}: {exc.strerror or exc}",
                                  exits.WRITE) from None


class _Bar:
    """A progress bar on standard error (a terminal, without ``-s``), or nothing; ``start``
    bytes were there before (a resumed download)."""

    def __init__(self, label: str, silent: bool, start: int = 0) -> None:
        self.label, self.start = label, start
        self.enabled = not silent and sys.stderr.isatty()
        self._bar: Any = None

    def __call__(self, done: int, total: int | None) -> None:
        if not self.enabled or done == self.start == total:
            return
        if self._bar is None:
            from wirekit.cli.progress import TransferBar

            self._bar = TransferBar(self.label, start=self.start)
        self._bar(done - self.start, None if total is None else total - self.start)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@click.group(epilog="""\b
Examples:
  wirekit ftp serve ./public --port 2121        # anonymous, read-only, 127.0.0.1
  wirekit ftp ls ftp://127.0.0.1:2121/
  wirekit ftp get ftp://127.0.0.1:2121/pub/notes.txt -o notes.txt
  wirekit ftp get ftp://127.0.0.1:2121/big.iso -C -     # resume a cut download
  wirekit ftp put report.pdf ftp://alice@ftp.example.org/incoming/ --tls
  wirekit ftp ls ftps://ftp.example.org/          # implicit FTPS, port 990
  wirekit ftp mv ftp://127.0.0.1:2121/old.txt new.txt
""")
def command() -> None:
    """List, download, upload, make, remove and rename over FTP or FTPS (RFC 959, 4217), or
    serve a directory (pyftpdlib).

    Passive mode (EPSV, else PASV) and binary transfers; the data connection always goes to
    the server's own address. --tls (explicit FTPS) and ftps:// URLs (implicit FTPS) verify
    the certificate and encrypt the files too.
    """


# -- ls ----------------------------------------------------------------------------------------
@command.command("ls", epilog=_EPILOG)
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@_client_options
def ls_command(url: str, as_json: bool, **options: Any) -> None:
    """List a directory: type, size, modification time and name (MLSD, or LIST parsed)."""
    target = _parse(url)
    with _failures(), _client(target, options) as ftp:
        entries = ftp.list(_remote_path(target))
    entries.sort(key=lambda e: e.name)
    if as_json:
        click.echo(json.dumps([_as_json(e) for e in entries], indent=2, ensure_ascii=False))
        return
    for entry in entries:
        size = "-" if entry.size is None or entry.is_dir else str(entry.size)
        when = entry.modified.strftime("%Y-%m-%d %H:%M") if entry.modified else "-"
        name = entry.name + ("/" if entry.is_dir else "")
        if entry.target:
            name += f" -> {entry.target}"
        click.echo(f"{entry.type[0]} {size:>12}  {when:16}  {safe_text(name)}")


def _as_json(entry: Entry) -> dict[str, Any]:
    return {"name": entry.name, "type": entry.type, "size": entry.size,
            "modified": entry.modified.isoformat() if entry.modified else None,
            "permissions": entry.permissions, "target": entry.target}


# -- get and put -------------------------------------------------------------------------------
@command.command("get", epilog=_EPILOG)
@click.argument("url")
@click.option("-o", "--output", metavar="FILE",
              help="Write to FILE ('-': standard output; default: the remote name, here).")
@click.option("-C", "--continue-at", metavar="-",
              help="'-C -': resume, appending to what FILE already holds (REST).")
@click.option("-s", "--silent", is_flag=True, help="No progress bar.")
@_client_options
def get_command(url: str, output: str | None, continue_at: str | None, silent: bool,
                **options: Any) -> None:
    """Download a file, streaming, with a progress bar on a terminal."""
    if continue_at not in (None, "-"):
        raise click.BadParameter("only '-C -' (resume from the local file's size) is "
                                 "supported", param_hint="-C")
    target = _parse(url)
    remote = _remote_path(target)
    if remote is None or target.path.endswith("/"):
        raise exits.RequestFailed(f"{url} names a directory; use 'wirekit ftp ls'",
                                  exits.BAD_URL)
    name = PurePosixPath(remote).name
    local = output or name
    resume = continue_at == "-"
    start = Path(local).stat().st_size if resume and Path(local).is_file() else 0
    bar = _Bar(name, silent or local == "-", start)
    with _failures(), _client(target, options) as ftp:
        try:
            if local == "-":
                ftp.download(remote, sys.stdout.buffer)
            else:
                ftp.download(remote, local, resume=resume, progress=bar)
        finally:
            bar.close()


@command.command("put", epilog=_EPILOG)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("url")
@click.option("-C", "--continue-at", metavar="-",
              help="'-C -': resume, sending what the remote file lacks (REST STREAM/APPE).")
@click.option("-s", "--silent", is_flag=True, help="No progress bar.")
@_client_options
def put_command(file: Path, url: str, continue_at: str | None, silent: bool,
                **options: Any) -> None:
    """Upload FILE to URL (a directory URL ending in '/' keeps FILE's name)."""
    if continue_at not in (None, "-"):
        raise click.BadParameter("only '-C -' is supported", param_hint="-C")
    target = _parse(url)
    remote = _remote_path(target) or ""
    if not remote or target.path.endswith("/"):
        remote += file.name
    bar = _Bar(file.name, silent)
    try:
        source = open(file, "rb", buffering=0)  # noqa: SIM115 - closed below
    except OSError as exc:
        raise exits.RequestFailed(f"{file}: {exc.strerror}", READ) from None
    with source, _failures(), _client(target, options) as ftp:
        try:
            sent = ftp.upload(source, remote, resume=continue_at == "-", progress=bar)
        finally:
            bar.close()
    if not silent:
        click.echo(f"sent {sent} bytes to {remote}", err=True)


# -- mkdir, rm, mv -----------------------------------------------------------------------------
@command.command("mkdir", epilog=_EPILOG)
@click.argument("url")
@_client_options
def mkdir_command(url: str, **options: Any) -> None:
    """Create the directory URL names."""
    target = _parse(url)
    path = _required(target, url)
    with _failures(), _client(target, options) as ftp:
        click.echo(ftp.mkdir(path))


@command.command("rm", epilog=_EPILOG)
@click.argument("url")
@_client_options
def rm_command(url: str, **options: Any) -> None:
    """Delete the file URL names; a URL ending in '/' removes an (empty) directory."""
    target = _parse(url)
    path = _required(target, url)
    with _failures(), _client(target, options) as ftp:
        if target.path.endswith("/"):
            ftp.rmdir(path.rstrip("/"))
        else:
            ftp.delete(path)


@command.command("mv", epilog=_EPILOG)
@click.argument("url")
@click.argument("new_name", metavar="NEW-NAME")
@_client_options
def mv_command(url: str, new_name: str, **options: Any) -> None:
    """Rename (or move, on the server) what URL names to NEW-NAME (RNFR/RNTO); NEW-NAME is
    a path on the server, relative to the login directory."""
    target = _parse(url)
    path = _required(target, url)
    with _failures(), _client(target, options) as ftp:
        ftp.rename(path, new_name)


def _required(target: URL, url: str) -> str:
    path = _remote_path(target)
    if path is None:
        raise exits.RequestFailed(f"{url} names no file or directory", exits.BAD_URL)
    return path


# -- serve -------------------------------------------------------------------------------------
@command.command("serve")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=2121, show_default=True,
              help="The port (0: any free one).")
@click.option("-b", "--bind", default="127.0.0.1", show_default=True, metavar="HOST",
              help="The address to listen on ('0.0.0.0' or '::' for every interface).")
@click.option("--write", is_flag=True, help="Allow uploads, renames and deletions.")
@click.option("--user", "users", multiple=True, metavar="USER:PASSWORD",
              help="Require this login (repeatable); anonymous is then off.")
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Offer FTPS (AUTH TLS) with this certificate chain (PEM).")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="The private key of --certfile, if it is not in the same file.")
@click.option("--tls-required", is_flag=True,
              help="With --certfile, refuse logins and transfers in the clear.")
@click.option("--implicit-tls", is_flag=True,
              help="With --certfile, implicit FTPS (TLS from the first byte, ftps:// URLs).")
def serve_command(directory: Path, port: int, bind: str, write: bool, users: tuple[str, ...],
                  certfile: str | None, keyfile: str | None, tls_required: bool,
                  implicit_tls: bool) -> None:
    """Serve DIRECTORY over FTP with pyftpdlib (pip install 'wirekit[ftp-server]'):
    read-only unless --write, anonymous unless --user."""
    from wirekit.ftp.server import FTPServer

    accounts: dict[str, str] = {}
    for item in users:
        name, sep, password = item.partition(":")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not USER:PASSWORD", param_hint="--user")
        accounts[name] = password
    if (tls_required or implicit_tls) and not certfile:
        raise click.UsageError("--tls-required and --implicit-tls need --certfile")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    address = f"[{bind}]:{port}" if ":" in bind else f"{bind}:{port}"
    try:
        server = FTPServer(directory, address, write=write, users=accounts or None,
                           certfile=certfile, keyfile=keyfile, tls_required=tls_required,
                           implicit_tls=implicit_tls)
    except ConfigError as exc:
        raise exits.RequestFailed(str(exc), exits.FAILURE) from None
    access = "read-write" if write else "read-only"
    who = f"users {', '.join(accounts)}" if accounts else "anonymous"
    tls = (", implicit FTPS" if implicit_tls else ", FTPS required" if tls_required
           else ", FTPS offered" if certfile else "")

    def announce() -> None:
        click.echo(f"wirekit ftp: serving {directory} on {server.url} ({access}, {who}{tls}); "
                   "stop with Ctrl-C")
        sys.stdout.flush()

    server.serve_forever(ready=announce)
