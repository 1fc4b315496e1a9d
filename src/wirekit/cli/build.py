"""``wirekit build SRC OUT``: render a folder of page templates into a site (slides 4-14..4-17).

    wirekit build site public            # then: wirekit serve public
    wirekit build site public --watch    # rebuild whenever a file under site/ changes

Each file written is printed (``rendered``, ``copied``, ``removed``), then one summary line;
files skipped for safety (a symlink leaving SRC) are said on standard error. A failure is one
line that starts with the file and the line at fault, and the exit code says its cause (the
numbers are ``sysexits.h``'s): 65 a template or its data, 66 a source file unreadable, 73 OUT
unwritable, 2 a bad SRC/OUT (OUT inside SRC) or option. Under ``--watch`` a failure is printed
and the watch goes on, so the fix is picked up when it is saved; the last good site stays in
OUT meanwhile (a page that fails writes nothing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import click

from wirekit.cli import exits
from wirekit.cli.output import safe_text
from wirekit.web import BuildError, BuildReport, OutputError, TemplateError, build

TEMPLATE: Final = 65  # EX_DATAERR: the input data was incorrect
SOURCE: Final = 66  # EX_NOINPUT: an input file could not be read
OUTPUT: Final = 73  # EX_CANTCREAT: an output file could not be created
BUILD_EXIT_CODES: Final = (
    (0, "success"),
    (exits.USAGE, "usage: a bad option, SRC missing, OUT inside SRC (or SRC inside OUT)"),
    (TEMPLATE, "a template or its data cannot be rendered (names file, line, variable)"),
    (SOURCE, "a file of SRC cannot be read"),
    (OUTPUT, "a file of OUT cannot be written"),
    (exits.INTERRUPTED, "interrupted (Ctrl-C; how --watch ends)"),
)
_EPILOG: Final = """\b
Examples:
  wirekit build site public            # site/*.html through site/_layout.html
  wirekit build site public --watch    # ... again on every change (Ctrl-C stops)
  wirekit build site public --clean    # ... and delete what no longer has a source
  wirekit serve public                 # then serve the result
\b
In SRC: page.html is a template ($name, ${name}, $$) filled from page.json and
_data.json; page.csv gives $rows (one page.row.html per row); _layout.html wraps
every page ($content); names starting with _ or . are not copied; every other file
is copied. Values are HTML-escaped unless the name ends in _html.
\b
Exit codes:
""" + "\n".join(f"  {code:<4} {meaning}" for code, meaning in BUILD_EXIT_CODES) + "\n"


def _shown(text: str) -> str:
    """A path as printed: terminal controls (and newlines) in a file name are made visible."""
    return safe_text(text).replace("\n", "\\n")


def exit_code(exc: BuildError) -> int:
    """The exit code for a failed build, by cause."""
    if isinstance(exc, TemplateError):
        return TEMPLATE
    if isinstance(exc, OutputError):
        return OUTPUT
    return SOURCE


def print_report(report: BuildReport) -> None:
    """Each file written or removed on stdout, skipped files on stderr, then the summary."""
    out = report.out
    lines = sorted([(path, "rendered") for path in report.rendered]
                   + [(path, "copied") for path in report.copied])
    for path, verb in lines:
        click.echo(f"{verb} {_shown(str(out / path))}")
    for path in report.removed:
        click.echo(f"removed {_shown(str(out / path))}")
    for path, why in report.skipped:
        click.echo(f"wirekit build: skipped {_shown(str(report.src / path))}: {why}", err=True)
    click.echo(f"{_shown(str(out))}: {report.summary()}")


def _build(src: Path, out: Path, clean: bool) -> None:
    try:
        report = build(src, out, clean=clean)
    except BuildError as exc:
        raise exits.RequestFailed(str(exc), exit_code(exc)) from None
    print_report(report)


@click.command(epilog=_EPILOG)
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--watch", is_flag=True,
              help="After building, rebuild whenever a file under SRC changes, until Ctrl-C "
                   "(needs the watchfiles package: pip install 'wirekit[reload]').")
@click.option("--clean", is_flag=True,
              help="Also delete files in OUT that this build did not write (only in a folder "
                   "that wirekit build made, or an empty one).")
def command(src: Path, out: Path, watch: bool, clean: bool) -> None:
    """Render the page templates of SRC into OUT and copy the other files."""
    if not watch:
        _build(src, out, clean)
        return
    _watch(src, out, clean)


class _ReadySignal:
    """Given to watchfiles as its ``stop_event``: it is first asked ``is_set()`` once its
    watches are in place, which is when a change can no longer be missed, so "watching" is
    printed then and not before (a script or test waits for that line, then edits)."""

    def __init__(self, message: str) -> None:
        self._message: str | None = message

    def is_set(self) -> bool:
        if self._message is not None:
            click.echo(self._message, err=True)
            self._message = None
        return False


def _watch(src: Path, out: Path, clean: bool) -> None:
    try:
        from watchfiles import DefaultFilter, watch
    except ImportError:
        raise click.UsageError("--watch needs the watchfiles package: "
                               "pip install 'wirekit[reload]'") from None
    _build_and_report(src, out, clean)
    ready = _ReadySignal(f"wirekit build: watching {_shown(str(src))} for changes "
                         "(Ctrl-C to stop)")
    for changes in watch(src, watch_filter=DefaultFilter(), stop_event=ready):
        click.echo(f"wirekit build: {len(changes)} change(s), rebuilding", err=True)
        _build_and_report(src, out, clean)


def _build_and_report(src: Path, out: Path, clean: bool) -> None:
    """One build under --watch: a failure is printed, and the watch goes on."""
    try:
        _build(src, out, clean)
    except exits.RequestFailed as exc:
        click.echo(f"wirekit build: error: {exc.format_message()}", err=True)
