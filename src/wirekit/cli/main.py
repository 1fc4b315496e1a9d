"""Entry point of the ``wirekit`` command.

Subcommands are imported only when used, so ``wirekit --help`` and every command start fast.
Errors never show a traceback: bad arguments print one line and exit 2, failures of the network
or the peer print one line and exit 1, Ctrl-C exits 130. The request commands (get, post, http)
exit by cause with curl's numbers (:mod:`wirekit.cli.exits`): they raise a ``ClickException``
carrying the code, which is printed here like any other.
"""

from __future__ import annotations

import importlib
import sys
from typing import NoReturn

import click

from wirekit import __version__
from wirekit.errors import ConfigError, WirekitError

# name -> (module, one-line summary shown by `wirekit --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "parse": ("wirekit.cli.parse", "Summarise or extract from CSV, HTML, XML or JSON."),
    "lookup": ("wirekit.cli.lookup", "Resolve a host name or address (forward and reverse)."),
    "connect": ("wirekit.cli.connect", "Talk to a TCP/UDP/TLS/Unix server by hand (telnet)."),
    "connections": ("wirekit.cli.connections", "List sockets and their processes (netstat)."),
    "echo": ("wirekit.cli.echo", "Run an echo server (TCP, UDP or Unix; any concurrency)."),
    "serve": ("wirekit.cli.serve", "Serve HTTP: the demo site, a directory (+CGI) or a WSGI app."),
    "build": ("wirekit.cli.build", "Render a folder of page templates into a static site."),
    "time": ("wirekit.cli.time", "Run the course's time server (sends the time, closes)."),
    "get": ("wirekit.cli.get", "Fetch a URL over HTTP(S), FTP or file: (like curl)."),
    "post": ("wirekit.cli.post", "POST a form, JSON or files to a URL."),
    "http": ("wirekit.cli.http", "Send any HTTP method to a URL (PUT, DELETE, HEAD, ...)."),
    "mail": ("wirekit.cli.mail", "Send mail, or catch it locally in a Maildir (SMTP)."),
    "ftp": ("wirekit.cli.ftp", "List, download, upload over FTP/FTPS, or serve a directory."),
    "rpc": ("wirekit.cli.rpc", "Serve functions over XML-RPC/JSON-RPC, or call a server."),
    "sniff": ("wirekit.cli.sniff", "Capture packets or read a pcap file (like tcpdump)."),
}

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class LazyGroup(click.Group):
    """A group whose subcommands live in their own modules and load on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[cmd_name][0])
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, summary) for name, (_, summary) in sorted(COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wirekit")
def cli() -> None:
    """wirekit: the whole of Python network programming in one package.

    \b
    Examples:
      wirekit lookup localhost
      wirekit connect example.org:80
      wirekit connections --listening

    Run 'wirekit COMMAND --help' for the options of each command.
    """


def _fail(prefix: str, message: str, code: int) -> NoReturn:
    click.echo(f"{prefix}: error: {message}", err=True)
    sys.exit(code)


def _command_path(argv: list[str]) -> str:
    """``wirekit NAME`` for the subcommand in ``argv``, so errors say which command failed."""
    name = next((arg for arg in argv if not arg.startswith("-")), None)
    return f"wirekit {name}" if name in COMMANDS else "wirekit"


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the command line and exit with its status."""
    argv = sys.argv[1:] if argv is None else argv
    prefix = _command_path(argv)
    try:
        result = cli.main(args=argv, prog_name="wirekit", standalone_mode=False)
    except click.UsageError as exc:
        path = exc.ctx.command_path if exc.ctx else "wirekit"
        _fail(path, f"{exc.format_message()} (see '{path} --help')", EXIT_USAGE)
    except (click.Abort, KeyboardInterrupt):
        click.echo("", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        _fail(prefix, exc.format_message(), exc.exit_code)
    except ConfigError as exc:
        _fail(prefix, str(exc), EXIT_USAGE)
    except WirekitError as exc:
        _fail(prefix, str(exc), EXIT_FAILURE)
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        sys.stderr.close()
        sys.exit(0)
    sys.exit(result if isinstance(result, int) else 0)
