"""``wirekit serve``: the HTTP server. The demo site, a directory (with CGI), or a WSGI app."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from wirekit.cli.serving import listen_address, server_options
from wirekit.cli.sizes import BYTE_SIZE
from wirekit.config import DEFAULT_LIMITS, DEFAULT_TIMEOUTS
from wirekit.demo.services import DEFAULT_PORTS
from wirekit.errors import ConfigError, WirekitError
from wirekit.server.modes import Async, Fork, Mode, Prefork, Sync, Threads

DEFAULT_PORT = 8000

HTTP_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--wsgi",), {"metavar": "MODULE:APP",
                   "help": "Serve this WSGI application (e.g. myapp:app; the current "
                           "directory is importable) instead of files."}),
    (("--cgi",), {"is_flag": True,
                  "help": "Run executables under DIR/cgi-bin/ as CGI scripts (RFC 3875)."}),
    (("--cgi-timeout",), {"type": click.FloatRange(min=0, min_open=True), "metavar": "S",
                          "default": 30.0, "show_default": True,
                          "help": "Seconds a CGI script may run in all before it is stopped "
                                  "(504 if it had not answered yet)."}),
    (("--reload",), {"is_flag": True,
                     "help": "Development: restart when a .py file under the current "
                             "directory changes (needs the watchfiles package: pip install "
                             "'wirekit[reload]')."}),
    (("--cgi-dir",), {"default": "/cgi-bin", "show_default": True, "metavar": "URLPATH",
                      "help": "Where CGI scripts live, as a URL path under DIR."}),
    (("--follow-symlinks",), {"is_flag": True,
                              "help": "Serve symlinks that point outside DIR."}),
    (("--show-hidden",), {"is_flag": True, "help": "Serve and list dotfiles."}),
    (("--threads", "-t"), {"type": click.IntRange(min=1), "metavar": "T",
                           "help": "Threads per process that run the application (async) or "
                                   "serve connections (threads) [default: 32]."}),
    (("--keep-alive",), {"type": click.FloatRange(min=0, min_open=True), "metavar": "S",
                         "default": DEFAULT_TIMEOUTS.keep_alive, "show_default": True,
                         "help": "Close a keep-alive connection idle for S seconds between "
                                 "requests."}),
    (("--graceful-timeout",), {"type": click.FloatRange(min=0, min_open=True), "metavar": "S",
                               "default": DEFAULT_TIMEOUTS.shutdown_grace,
                               "show_default": True,
                               "help": "On Ctrl-C or SIGTERM, let requests in progress finish "
                                       "for up to S seconds."}),
    (("--max-connections",), {"type": click.IntRange(min=1), "metavar": "N",
                              "default": DEFAULT_LIMITS.max_connections, "show_default": True,
                              "help": "Connections per process; when full, the longest-idle "
                                      "one is closed, or a new one gets a 503 (async)."}),
    (("--max-body",), {"type": BYTE_SIZE, "metavar": "SIZE", "default": "1G",
                       "show_default": True,
                       "help": "Largest request body passed to the application (K, M, G "
                               "suffixes); above it a 413 that states the limit. Forms and "
                               "CGI keep their own caps (64M)."}),
    (("--certfile",), {"type": click.Path(exists=True, dir_okay=False), "metavar": "PEM",
                       "help": "Serve HTTPS with this certificate (chain)."}),
    (("--keyfile",), {"type": click.Path(exists=True, dir_okay=False), "metavar": "PEM",
                      "help": "The certificate's private key, if not in --certfile."}),
    (("--script-name",), {"default": "", "metavar": "PATH",
                          "help": "Mount the application under this URL prefix."}),
    (("--forwarded-allow-ips",), {"multiple": True, "metavar": "CIDR",
                                  "help": "Proxies whose X-Forwarded-For/-Proto are "
                                          "believed (repeatable; 'unix' for a Unix "
                                          "socket)."}),
    (("--proxy-protocol-from",), {"multiple": True, "metavar": "CIDR",
                                  "help": "Load balancers whose connections start with a "
                                          "PROXY protocol header (v1/v2) naming the real "
                                          "client; required from them, never read from "
                                          "anyone else (repeatable)."}),
    (("--reuse-port/--no-reuse-port",), {"default": None,
                                          "help": "With --workers > 1, each worker listens "
                                                  "on its own SO_REUSEPORT socket so the "
                                                  "kernel spreads clients evenly [default: "
                                                  "on with several workers over TCP]."}),
    (("--access-log/--no-access-log",), {"default": True, "show_default": True,
                                          "help": "One Common Log Format line per request "
                                                  "on stderr."}),
]

# The ports of the servers the demo runs beside the site (wirekit.demo.services decides them).
_BESIDE = {"mail": "its mail catcher (SMTP)", "echo": "its echo server (TCP and UDP)",
           "time": "its time server", "ftp": "its read-only FTP server (with pyftpdlib)"}
HTTP_OPTIONS += [
    ((f"--{name}-port",), {"type": click.IntRange(min=0, max=65535), "metavar": "PORT",
                           "default": DEFAULT_PORTS[name], "show_default": True,
                           "help": f"The demo site only: the port of {what} (another free "
                                   "one if taken, 0 for any)."})
    for name, what in _BESIDE.items()]


def http_options(fn: Any) -> Any:
    for names, settings in reversed(HTTP_OPTIONS):
        fn = click.option(*names, **settings)(fn)
    return fn


@click.command(epilog="""\b
Examples:
  wirekit serve                          # the demo site on http://127.0.0.1:8000/
  wirekit serve ./public                 # static files (listing, ranges, 304s)
  wirekit serve ./site --cgi             # ... and CGI scripts in ./site/cgi-bin/
  wirekit serve --wsgi myapp:app         # a WSGI application (Flask, Django, ...)
  wirekit serve --wsgi 'myapp:create_app()'   # ... made by a factory
  wirekit serve --wsgi myapp:app --reload     # restart on code changes (development)
  wirekit serve --wsgi myapp:app -w 2    # 2 processes, each an event loop
  wirekit serve --wsgi myapp:app -t 64 --keep-alive 2   # 64 app threads
  wirekit serve ./public --certfile cert.pem --keyfile key.pem   # HTTPS
""")
@click.argument("directory", required=False, type=click.Path(file_okay=False), metavar="[DIR]")
@http_options
@server_options(DEFAULT_PORT, exclude=("--udp", "--reuse-port", "--idle-timeout"), overrides={
    "--workers": {"help": "Worker processes (prefork); each runs the --concurrency mode."},
    "--concurrency": {"type": click.Choice(["async", "threads", "fork", "prefork"]),
                      "default": "async",
                      "help": "async: connections on an event loop, the application on "
                              "--threads worker threads (no slow client or blocking app "
                              "stalls the others); threads: a thread per connection; fork: "
                              "a process per connection; prefork: --workers processes."},
    "--log-level": {"default": "warning"}})
def command(directory: str | None, **options: Any) -> None:
    """Serve HTTP: the embedded demo site, a directory, or a WSGI application.

    With no DIR and no --wsgi, serves the demo site, where every topic of wirekit can be
    tried from a browser. Stops cleanly on Ctrl-C or SIGTERM (requests in progress finish).
    """
    logging.basicConfig(level=options["log_level"].upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    if options["reload"] and os.environ.get(_RELOADED) != "1":
        _application(directory, options)  # a wrong DIR or app fails now, with exit 2
        _run_reloading()
        return
    app, what = _application(directory, options)
    if app is not None:
        _serve(app, what, options)
        return
    from wirekit.demo import make_demo_app
    from wirekit.demo.services import demo_services

    ports = {name: options[f"{name}_port"] for name in DEFAULT_PORTS}
    with contextlib.ExitStack() as stack:
        try:
            running = stack.enter_context(demo_services(_demo_host(options), ports=ports))
        except OSError as exc:
            raise click.UsageError(f"cannot start the demo's servers: {exc}") from None
        app = make_demo_app(cgi_timeout=options["cgi_timeout"], mail=running.store,
                            smtp=running.mail, echo=running.echo, time=running.time,
                            ftp=running.ftp)
        ftp_note = f"; FTP on {running.ftp}: /ftp.html" if running.ftp else ""
        _serve(app, f"{what} (its mail catcher on {running.mail}: /mail/; echo on "
               f"{running.echo}, time on {running.time}: /sockets{ftp_note})", options)


def _demo_host(options: dict[str, Any]) -> str:
    """The web site's host, where the demo's other servers listen too (loopback for --unix)."""
    if options["unix"]:
        return "127.0.0.1"
    return listen_address(options["bind"], options["port"], None, DEFAULT_PORT).host or "127.0.0.1"


_RELOADED = "WIREKIT_SERVE_RELOADED"


def _run_reloading() -> None:
    """Run this same command in a child process, and start a new one whenever a Python file
    under the current directory changes (watchfiles' ``run_process``), until Ctrl-C. A child
    that fails (a syntax error just saved) is started again at the next change."""
    try:
        from watchfiles import PythonFilter, run_process
    except ImportError:
        raise click.UsageError("--reload needs the watchfiles package: "
                               "pip install 'wirekit[reload]'") from None
    import shlex

    os.environ[_RELOADED] = "1"  # the children serve; only this process watches
    command = shlex.join([sys.executable, "-m", "wirekit", *sys.argv[1:]])
    click.echo(f"wirekit serve: reloading when a .py file under {os.getcwd()} changes",
               err=True)
    run_process(os.getcwd(), target=command, target_type="command",
                watch_filter=PythonFilter(), callback=_report_changes)


def _report_changes(changes: set[Any]) -> None:
    click.echo(f"wirekit serve: {len(changes)} change(s), restarting", err=True)


def _application(directory: str | None, options: dict[str, Any]) -> tuple[Any, str]:
    if options["wsgi"]:
        if directory is not None or options["cgi"]:
            raise click.UsageError("--wsgi serves an application; DIR and --cgi serve files")
        return load_wsgi_app(options["wsgi"]), options["wsgi"]
    if directory is None:
        if options["cgi"]:
            raise click.UsageError("--cgi needs a DIR whose cgi-bin/ holds the scripts")
        return None, "the demo site"  # built by command(), beside its mail catcher
    root = Path(directory)
    if not root.is_dir():
        raise click.BadParameter(_not_a_directory(directory), param_hint="DIR")
    from wirekit.http.static import StaticFiles

    if not options["cgi"]:
        return StaticFiles(root, follow_symlinks=options["follow_symlinks"],
                           show_hidden=options["show_hidden"]), str(root)
    from wirekit.http.cgi import CGIApp

    # CGIApp routes first, so no spelling of a script's URL (//cgi-bin/s.py, /x/../cgi-bin/)
    # can reach the static files; and the files never serve the scripts' directory, even
    # through a symlink to it (their source must not be readable: SECURITY.md C01).
    cgi_dir = "/" + options["cgi_dir"].strip("/")
    files = StaticFiles(root, follow_symlinks=options["follow_symlinks"],
                        show_hidden=options["show_hidden"], private=[root / cgi_dir.lstrip("/")])
    return (CGIApp(root, cgi_dir=cgi_dir, fallback=files, timeout=options["cgi_timeout"]),
            f"{root} with CGI under {cgi_dir}/")


def _not_a_directory(directory: str) -> str:
    """The error for a DIR that is not one, with the habit it probably comes from."""
    if directory.isdigit():  # python -m http.server 8123
        return f"{directory} is not a directory; to listen on port {directory}: -p {directory}"
    if ":" in directory and not os.path.exists(directory.partition(":")[0]):  # gunicorn app:app
        return f"{directory} is not a directory; to serve a WSGI application: --wsgi {directory}"
    return f"{directory} is not a directory"


def load_wsgi_app(spec: str) -> Any:
    """``module:attribute`` or ``module:factory()`` -> the application, with errors a user can
    act on (exit 2). A factory (Flask's ``create_app()``) is called with no arguments, as
    gunicorn does."""
    module_name, _, attribute = spec.partition(":")
    factory = attribute.endswith("()")
    attribute = attribute.removesuffix("()")
    if not module_name or not attribute or "(" in attribute:
        raise click.BadParameter(f"{spec!r}: expected MODULE:APP or MODULE:FACTORY(), e.g. "
                                 "myapp:app", param_hint="--wsgi")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.BadParameter(f"cannot import {module_name!r}: {exc}",
                                 param_hint="--wsgi") from None
    app: Any = module
    for part in attribute.split("."):
        app = getattr(app, part, None)
        if app is None:
            raise click.BadParameter(f"module {module_name!r} has no {attribute!r}",
                                     param_hint="--wsgi")
    if not callable(app):
        raise click.BadParameter(f"{spec} is not callable", param_hint="--wsgi")
    if factory:
        try:
            app = app()
        except Exception as exc:  # the user's factory failed: say so in one line, exit 2
            raise click.BadParameter(f"{spec} raised {type(exc).__name__}: {exc}",
                                     param_hint="--wsgi") from None
        if not callable(app):
            raise click.BadParameter(f"{spec} returned {type(app).__name__}, not a WSGI "
                                     "application", param_hint="--wsgi")
    return app


def choose_mode(concurrency: str, workers: int | None, threads: int | None) -> Mode:
    """gunicorn's vocabulary: --workers processes, each running --concurrency."""
    inner: dict[str, Any] = {"sync": Sync, "async": lambda: Async(threads=threads or 32),
                             "fork": Fork,
                             "threads": lambda: Threads(max_workers=threads or 32),
                             "prefork": lambda: Threads(max_workers=threads or 32)}
    mode = inner[concurrency]()
    if concurrency == "prefork":
        return Prefork(workers=workers or 2, worker_mode=mode)
    if workers is not None and workers > 1:
        if concurrency == "fork":
            raise click.UsageError("--workers with --concurrency fork: use prefork")
        return Prefork(workers=workers, worker_mode=mode)
    return mode


def _serve(app: Any, what: str, options: dict[str, Any]) -> None:
    from wirekit.http.server import HTTPServer
    from wirekit.http.server.accesslog import StreamSink
    from wirekit.net.tls import server_context

    address = listen_address(options["bind"], options["port"], options["unix"], DEFAULT_PORT)
    tls = None
    if options["certfile"]:
        try:
            tls = server_context(options["certfile"], options["keyfile"])
        except (OSError, WirekitError) as exc:
            raise click.BadParameter(f"cannot load the certificate: {exc}",
                                     param_hint="--certfile") from None
    elif options["keyfile"]:
        raise click.UsageError("--keyfile needs --certfile")
    timeouts = dataclasses.replace(DEFAULT_TIMEOUTS, keep_alive=options["keep_alive"],
                                   shutdown_grace=options["graceful_timeout"])
    limits = dataclasses.replace(DEFAULT_LIMITS, max_connections=options["max_connections"],
                                 max_request_body=options["max_body"])
    mode = choose_mode(options["concurrency"], options["workers"], options["threads"])
    reuse_port = options["reuse_port"]
    if reuse_port is None:
        # Workers sharing one listening socket split a burst of connections unevenly (one
        # took 50 of 50 in bench/http_wsgi.py); SO_REUSEPORT lets the kernel balance them.
        reuse_port = isinstance(mode, Prefork) and not address.is_unix
    try:
        server = HTTPServer(app, address, concurrency=mode, tls=tls, timeouts=timeouts,
                            limits=limits,
                            allow=options["allow"], deny=options["deny"],
                            reuse_port=reuse_port,
                            script_name=options["script_name"],
                            access_log=StreamSink(sys.stderr) if options["access_log"]
                            else False,
                            forwarded_allow_ips=options["forwarded_allow_ips"],
                            proxy_protocol_from=options["proxy_protocol_from"])
    except (ConfigError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None

    def announce() -> None:
        click.echo(f"wirekit serve: {what} on {server.url}/ ({server.mode}); "
                   "stop with Ctrl-C")
        sys.stdout.flush()

    server.serve_forever(ready=announce)
