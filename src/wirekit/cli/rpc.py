"""``wirekit rpc``: serve a module's functions over XML-RPC or JSON-RPC, call a server, list
what it offers.

    wirekit rpc serve mathfuncs                 # every public function defined in mathfuncs.py
    wirekit rpc serve service:Calculator --jsonrpc --port 8080
    wirekit rpc call http://127.0.0.1:8000/ add 3 5
    wirekit rpc list http://127.0.0.1:8000/

Arguments of ``call`` are JSON (``3``, ``'"text"'``, ``'[1, 2]'``, ``'{"a": 1}'``); the result
is printed as JSON (bytes as base64 text, datetimes in ISO 8601). Failures print one line and
exit by cause: the codes of ``wirekit get`` (:mod:`wirekit.cli.exits`: 7 cannot connect,
28 timed out, 4/5 an HTTP error status...) and :data:`FAULT` when the server answered a fault.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import importlib
import inspect
import json
import logging
import os
import sys
from types import ModuleType
from typing import Any, Final

import click

from wirekit.cli.exits import RequestFailed, exit_code, exit_code_help
from wirekit.cli.serving import listen_address, server_options
from wirekit.config import DEFAULT_TIMEOUTS
from wirekit.errors import ConfigError, WirekitError
from wirekit.rpc import Dispatcher, Fault, JSONRPCProxy, RPCServer, XMLRPCProxy

__all__ = ["FAULT", "command", "load_dispatcher"]

#: The server answered the call with a fault (none of curl's codes means that).
FAULT: Final = 10
DEFAULT_PORT: Final = 8000


@click.group(epilog="""\b
Examples:
  wirekit rpc serve mathfuncs                   # mathfuncs.py's functions on :8000
  wirekit rpc serve service:Calculator --jsonrpc -p 8080
  wirekit rpc call http://127.0.0.1:8000/ add 3 5
  wirekit rpc call --jsonrpc http://127.0.0.1:8080/ greet '"Ann"'
  wirekit rpc list http://127.0.0.1:8000/
""")
def command() -> None:
    """Remote procedure calls: XML-RPC (the course's SimpleXMLRPCServer) and JSON-RPC 2.0."""


# -- serve ----------------------------------------------------------------------------------
@command.command("serve")
@click.argument("target", metavar="MODULE[:OBJECT]")
@click.option("--jsonrpc", is_flag=True, help="Speak JSON-RPC 2.0 instead of XML-RPC.")
@click.option("--certfile", metavar="FILE", help="Serve HTTPS with this certificate chain.")
@click.option("--keyfile", metavar="FILE", help="The certificate's private key.")
@server_options(DEFAULT_PORT, exclude=("--udp", "--reuse-port"))
def serve(target: str, jsonrpc: bool, certfile: str | None, keyfile: str | None,
          **options: Any) -> None:
    """Serve MODULE's public functions, or OBJECT's public methods (a class is instantiated
    with no arguments; a Dispatcher is served as it is). Introspection and
    system.multicall are always there."""
    logging.basicConfig(level=options["log_level"].upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    dispatcher = load_dispatcher(target)
    tls = None
    if certfile:
        from wirekit.net.tls import server_context

        try:
            tls = server_context(certfile, keyfile)
        except (OSError, WirekitError) as exc:
            raise click.BadParameter(f"cannot load the certificate: {exc}",
                                     param_hint="--certfile") from None
    elif keyfile:
        raise click.UsageError("--keyfile needs --certfile")
    address = listen_address(options["bind"], options["port"], options["unix"], DEFAULT_PORT)
    timeouts = dataclasses.replace(DEFAULT_TIMEOUTS, idle=options["idle_timeout"])
    try:
        server = RPCServer(address, dispatcher=dispatcher, jsonrpc=jsonrpc, tls=tls,
                           concurrency=options["concurrency"], workers=options["workers"],
                           allow=options["allow"], deny=options["deny"], timeouts=timeouts)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    kind = "JSON-RPC" if jsonrpc else "XML-RPC"

    def announce() -> None:
        click.echo(f"wirekit rpc: {kind} on {server.url}/ ({server.mode}); "
                   "stop with Ctrl-C")
        sys.stdout.flush()

    server.serve_forever(ready=announce)


def load_dispatcher(target: str) -> Dispatcher:
    """``module`` or ``module:object`` as a dispatcher (errors a user can act on: exit 2)."""
    module_name, _, attribute = target.partition(":")
    if not module_name:
        raise click.BadParameter(f"{target!r}: expected MODULE or MODULE:OBJECT",
                                 param_hint="MODULE[:OBJECT]")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module failed to import: one line, exit 2
        raise click.BadParameter(f"cannot import {module_name!r}: {exc}",
                                 param_hint="MODULE[:OBJECT]") from None
    dispatcher = Dispatcher()
    if not attribute:
        _register_module(dispatcher, module)
        return dispatcher
    found = getattr(module, attribute, None)
    if found is None or attribute.startswith("_"):
        raise click.BadParameter(f"module {module_name!r} has no public {attribute!r}",
                                 param_hint="MODULE[:OBJECT]")
    if isinstance(found, Dispatcher):
        return found
    if inspect.isclass(found):
        try:
            found = found()
        except Exception as exc:  # the user's constructor failed
            raise click.BadParameter(f"{target}() raised {type(exc).__name__}: {exc}",
                                     param_hint="MODULE[:OBJECT]") from None
    if inspect.isroutine(found):
        dispatcher.register(found, attribute)
    else:
        dispatcher.register_instance(found)
    return dispatcher


def _register_module(dispatcher: Dispatcher, module: ModuleType) -> None:
    """The public functions *defined* in ``module``: not what it imported (``from os import
    system`` must not become a remote method)."""
    count = 0
    for name, value in vars(module).items():
        if not name.startswith("_") and inspect.isfunction(value) \
                and value.__module__ == module.__name__:
            dispatcher.register(value, name)
            count += 1
    if not count:
        raise click.BadParameter(f"module {module.__name__!r} defines no public function",
                                 param_hint="MODULE[:OBJECT]")


# -- call and list ----------------------------------------------------------------------------
_CLIENT_OPTIONS = [
    click.option("--jsonrpc", is_flag=True, help="Speak JSON-RPC 2.0 instead of XML-RPC."),
    click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0,
                 show_default=True, metavar="S", help="Seconds to wait for the answer."),
    click.option("--cacert", metavar="FILE", help="Trust this CA (HTTPS with a test CA)."),
    click.option("--insecure", "-k", is_flag=True,
                 help="Do not verify the server's certificate (said out loud, per call)."),
    click.option("--user", "-u", metavar="USER:PASSWORD", help="HTTP Basic credentials."),
]


def _client_options(fn: Any) -> Any:
    for option in reversed(_CLIENT_OPTIONS):
        fn = option(fn)
    return fn


@command.command("call", epilog=exit_code_help() + f"  {FAULT:<4} the server answered a fault\n")
@click.argument("url")
@click.argument("method")
@click.argument("args", nargs=-1)
@_client_options
def call(url: str, method: str, args: tuple[str, ...], **options: Any) -> None:
    """Call METHOD on the server at URL with ARGS (each one JSON) and print the result."""
    params = [_json_argument(text, index) for index, text in enumerate(args, 1)]
    result = _remote(url, options, lambda proxy: proxy.call(method, *params))
    click.echo(json.dumps(result, indent=2, ensure_ascii=False, default=_plain))


@command.command("list", epilog=exit_code_help() + f"  {FAULT:<4} the server answered a fault\n")
@click.argument("url")
@_client_options
def list_methods(url: str, **options: Any) -> None:
    """List the methods the server at URL offers (system.listMethods)."""
    names = _remote(url, options, lambda proxy: proxy.call("system.listMethods"))
    if not isinstance(names, list):
        raise RequestFailed("system.listMethods did not answer a list", exit_code(Exception()))
    for name in names:
        click.echo(str(name))


def _json_argument(text: str, index: int) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise click.BadParameter(
            f"argument {index} is not JSON: {text[:40]!r} (a string needs quotes: "
            f"'\"{text[:20]}\"')", param_hint="ARGS") from None


def _remote(url: str, options: dict[str, Any], action: Any) -> Any:
    auth = None
    if options["user"]:
        user, sep, password = options["user"].partition(":")
        if not sep:
            raise click.BadParameter("expected USER:PASSWORD", param_hint="--user")
        auth = (user, password)
    verify: Any = False if options["insecure"] else options["cacert"] or True
    kind = JSONRPCProxy if options["jsonrpc"] else XMLRPCProxy
    try:
        with kind(url, auth=auth, verify=verify, timeout=options["timeout"]) as proxy:
            return action(proxy)
    except Fault as fault:
        raise RequestFailed(f"fault {fault.code}: {fault.message}", FAULT) from None
    except ConfigError:
        raise
    except WirekitError as exc:
        raise RequestFailed(str(exc), exit_code(exc)) from None


def _plain(value: Any) -> Any:
    """JSON for what XML-RPC returns beyond JSON: bytes and datetimes."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
