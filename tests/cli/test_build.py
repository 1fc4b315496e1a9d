"""``wirekit build SRC OUT [--watch] [--clean]``, run as a user runs it (subprocesses)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wirekit.cli.build import OUTPUT, SOURCE, TEMPLATE, exit_code
from wirekit.web import BuildError, OutputError, TemplateError

PAGE = "<h1>$title</h1>\n<p>Price: $price</p>\n"


def _site(root: Path) -> Path:
    src = root / "site"
    (src / "css").mkdir(parents=True)
    (src / "index.html").write_text(PAGE)
    (src / "index.json").write_text('{"title": "Shop", "price": "1.50"}')
    (src / "css" / "site.css").write_text("body {}\n")
    return src


def test_build_prints_each_file_written_and_a_summary(cli, tmp_path):
    src = _site(tmp_path)
    out = tmp_path / "out"
    result = cli("build", str(src), str(out))
    assert result.code == 0, result
    assert result.stdout.splitlines() == [
        f"copied {out}/css/site.css",
        f"rendered {out}/index.html",
        f"{out}: 1 page rendered, 1 file copied, 0 unchanged",
    ]
    assert result.stderr == ""
    assert (out / "index.html").read_text() == "<h1>Shop</h1>\n<p>Price: 1.50</p>\n"
    again = cli("build", str(src), str(out))
    assert again.stdout == f"{out}: 0 pages rendered, 0 files copied, 2 unchanged\n"


def test_skipped_files_go_to_stderr_and_clean_prints_removals(cli, tmp_path):
    src = _site(tmp_path)
    out = tmp_path / "out"
    (src / "old.txt").write_text("old")
    assert cli("build", str(src), str(out)).code == 0
    (src / "old.txt").unlink()
    (src / "leak").symlink_to("/etc/passwd")
    result = cli("build", str(src), str(out), "--clean")
    assert result.code == 0, result
    assert f"removed {out}/old.txt" in result.stdout.splitlines()
    assert result.stderr == (f"wirekit build: skipped {src}/leak: a symlink that leaves SRC "
                             "(not followed)\n")
    assert not (out / "old.txt").exists() and not (out / "leak").exists()


@pytest.mark.parametrize(
    ("setup", "args", "code", "says"),
    [
        (lambda src: (src / "index.json").write_text('{"title": "x"}'), ("site", "out"),
         TEMPLATE, "site/index.html:2: no value for $price (set it in index.json or "
                   "_data.json)"),
        (lambda src: (src / "index.json").write_text('{"title": }'), ("site", "out"),
         TEMPLATE, "site/index.json:1: malformed JSON"),
        (lambda src: None, ("site", "site/public"), 2, "OUT site/public is inside SRC site"),
        (lambda src: None, ("nope", "out"), 2, "SRC nope does not exist"),
        (lambda src: (src.parent / "out").mkdir() or (src.parent / "out" / "css").symlink_to(
            "/tmp", target_is_directory=True), ("site", "out"), OUTPUT,
         "out/css: a symlink that leaves OUT is in the way"),
        (lambda src: (src.parent / "full").mkdir() or (src.parent / "full" / "f").touch(),
         ("site", "full", "--clean"), 2, "--clean would delete files in"),
    ],
)
def test_failures_are_one_line_with_distinct_exit_codes(tmp_path, setup, args, code, says):
    setup(_site(tmp_path))
    result = subprocess.run([sys.executable, "-m", "wirekit", "build", *args], cwd=tmp_path,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == code, result
    assert result.stderr.startswith("wirekit build: error: ") and says in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_exit_codes_by_cause():
    assert exit_code(TemplateError("x")) == TEMPLATE == 65
    assert exit_code(OutputError("x")) == OUTPUT == 73
    assert exit_code(BuildError("cannot read")) == SOURCE == 66


def test_build_is_listed_in_help(cli):
    result = cli("--help")
    assert "build" in result.stdout and "static site" in result.stdout
    assert "Exit codes:" in cli("build", "--help").stdout


def test_watch_without_watchfiles_names_the_extra(tmp_path):
    src = _site(tmp_path)
    code = ("import sys; sys.modules['watchfiles'] = None\n"  # as if not installed
            "from wirekit.cli.main import main; main()")
    result = subprocess.run([sys.executable, "-c", code, "build", str(src), str(tmp_path / "o"),
                             "--watch"], capture_output=True, text=True, timeout=30,
                            check=False)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "--watch needs the watchfiles package: pip install 'wirekit[reload]'" in result.stderr


# -- --watch -----------------------------------------------------------------------------------

class Lines:
    """The merged output of a running command, one line at a time, waited on with a bound."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        assert proc.stdout is not None
        stream = proc.stdout
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, wanted: Callable[[str], bool], timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"the command ended; it printed {self.seen}")
            self.seen.append(line)
            if wanted(line):
                return line
        raise AssertionError(f"not printed within {timeout} s; printed so far: {self.seen}")


@pytest.fixture
def watching(tmp_path) -> Iterator[tuple[Path, Path, Lines]]:
    pytest.importorskip("watchfiles")
    src = _site(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "wirekit", "build", str(src), str(out),
                             "--watch"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines = Lines(proc)
        lines.wait_for(lambda line: line.startswith("wirekit build: watching"))
        yield src, out, lines
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: how a user ends --watch
        try:
            assert proc.wait(timeout=10) == 130
        finally:
            proc.kill()
            proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()


def test_watch_rebuilds_when_a_data_file_changes(watching):
    src, out, lines = watching
    assert f"rendered {out}/index.html" in lines.seen  # the first build, before watching
    (src / "index.json").write_text('{"title": "Shop", "price": "2.75"}')
    lines.wait_for(lambda line: line == f"rendered {out}/index.html")
    assert (out / "index.html").read_text() == "<h1>Shop</h1>\n<p>Price: 2.75</p>\n"
    (src / "css" / "new.css").write_text("p {}\n")
    lines.wait_for(lambda line: line == f"copied {out}/css/new.css")
    assert (out / "css" / "new.css").read_text() == "p {}\n"


def test_watch_reports_an_error_keeps_the_last_good_page_and_goes_on(watching):
    src, out, lines = watching
    (src / "index.html").write_text(PAGE + "<p>$typo</p>\n")
    error = lines.wait_for(lambda line: "error:" in line)
    assert error == (f"wirekit build: error: {src}/index.html:3: no value for $typo (set it in "
                     "index.json or _data.json)")
    assert (out / "index.html").read_text() == "<h1>Shop</h1>\n<p>Price: 1.50</p>\n"
    (src / "index.json").write_text('{"title": "Shop", "price": "1.50", "typo": "fixed"}')
    lines.wait_for(lambda line: line == f"rendered {out}/index.html")
    assert (out / "index.html").read_text().endswith("<p>fixed</p>\n")
