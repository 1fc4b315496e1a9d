"""Every command and every Python snippet shown on any page of the demo, run against the demo.

The pages say ``127.0.0.1:8000`` (and the usual ports of the servers beside the site); this test
serves the demo on free ports, crawls it from the home page, takes every ``<pre>`` block, puts
the real addresses in, and runs what it shows in a scratch directory, page by page, in order
(so ``wirekit get ... -o demo.pcap`` comes before ``wirekit sniff -r demo.pcap``):

* a line starting ``wirekit`` or ``curl`` runs as a command and must exit 0 without a traceback;
  servers (``wirekit serve``, ``echo``, ``time``, ``mail serve``...) must start, say where they
  listen, and stop cleanly on Ctrl-C; ``wirekit connect`` gets the lines typed after it (or one
  line of its own) and must print what the server answered;
* a block starting ``from`` or ``import`` runs as a Python program and must exit 0.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from wirekit.demo import make_demo_app
from wirekit.demo.services import demo_services
from wirekit.testing import serve_wsgi

from .test_demo import fetch, parse_page

#: Commands that run until stopped: they must start, then stop cleanly on Ctrl-C.
SERVERS = ("wirekit serve", "wirekit echo", "wirekit time", "wirekit mail serve",
           "wirekit ftp serve", "wirekit rpc serve")
SHELL_WORDS = ("wirekit", "curl", "sha256sum", "sudo")
MAX_PAGES = 60


@dataclass
class Demo:
    url: str
    addresses: dict[str, str]  # as the pages say them -> where they really are
    pages: dict[str, list[str]] = field(default_factory=dict)  # path -> its <pre> blocks

    def localise(self, text: str) -> str:
        for shown, real in self.addresses.items():
            text = text.replace(shown, real)
        return text


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    with demo_services(ports={"mail": 0, "echo": 0, "time": 0, "ftp": 0}) as services:
        app = make_demo_app(mail=services.store, smtp=services.mail, echo=services.echo,
                            time=services.time, ftp=services.ftp)
        with serve_wsgi(app) as base:
            host = urllib.parse.urlsplit(base).netloc
            running = Demo(base, {"http://127.0.0.1:8000": base, "127.0.0.1:8000": host,
                                  " :8000/": f" :{host.rpartition(':')[2]}/",
                                  "127.0.0.1:8025": services.mail,
                                  "127.0.0.1:7007": services.echo,
                                  "127.0.0.1:8037": services.time,
                                  **({"127.0.0.1:2121": services.ftp} if services.ftp else {})})
            _crawl(running)
            yield running


def _crawl(demo: Demo) -> None:
    """Every HTML page reachable from the home page by same-site links."""
    todo, seen = ["/"], set()
    while todo and len(seen) < MAX_PAGES:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.add(path)
        status, headers, body = fetch(demo.url + path)
        if status != 200 or not headers.get("Content-Type", "").startswith("text/html"):
            continue
        page = parse_page(body)
        demo.pages[path] = page.pre
        for link in page.links:
            target = urllib.parse.urlsplit(urllib.parse.urljoin(demo.url + path, link))
            if target.netloc == urllib.parse.urlsplit(demo.url).netloc and not target.query:
                todo.append(target.path)


def _steps(blocks: list[str]) -> Iterator[tuple[str, str]]:
    """("python", program) for a snippet; ("shell", line + typed input) for a command."""
    for block in blocks:
        lines = [line for line in block.strip("\n").splitlines()]
        if lines and lines[0].startswith(("from ", "import ")):
            yield "python", block
            continue
        for index, line in enumerate(lines):
            if line.split(" ", 1)[0] not in SHELL_WORDS:
                continue
            typed = []
            for after in lines[index + 1:]:  # what the page says to type into it
                if after.split(" ", 1)[0] in SHELL_WORDS:
                    break
                typed.append("" if after.startswith("(then") else after)
            yield "shell", "\n".join([line, *typed])


def test_the_crawl_finds_the_pages_and_their_commands(demo: Demo):
    assert {"/", "/sockets", "/packets", "/mail/", "/upload"} <= set(demo.pages)
    shell = [step for blocks in demo.pages.values() for kind, step in _steps(blocks)
             if kind == "shell"]
    assert len(shell) >= 20


def _run_shell(demo: Demo, step: str, cwd: Path) -> None:
    line, *typed = demo.localise(step).split("\n")
    words = shlex.split(line, comments=True)
    if words[0] == "sudo":
        if os.geteuid() != 0:
            return  # live capture needs root; the page's other commands still run
        words = words[1:]
    command = " ".join(words[:3])
    if words[0] == "wirekit":
        words = [sys.executable, "-m", "wirekit", *words[1:]]
    if command.startswith(SERVERS) or any(command.startswith(s) for s in SERVERS):
        _run_server(words, cwd)
        return
    if words[3:4] == ["sniff"] and "-i" in words:  # live capture: bounded, traffic made here
        words += ["--timeout", "2"]
        proc = subprocess.Popen(words, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        assert proc.stderr is not None
        assert proc.stderr.readline().startswith("listening on")
        fetch(demo.url + "/")
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "Traceback" not in err, err
        return
    stdin = "\n".join(typed) + "\n" if typed else ("hello\n" if "connect" in words else "")
    result = subprocess.run(words, cwd=cwd, input=stdin, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, (line, result.stdout[-500:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr, (line, result.stderr)
    if "connect" in words and not typed and "--udp" not in words:
        assert result.stdout.strip(), (line, "nothing came back")


def _run_server(words: list[str], cwd: Path) -> None:
    """Start it on free ports (and with the directories it names), see it listen, Ctrl-C it."""
    words = [re.sub(r"^\d+$", "0", word) if previous in ("-p", "--port") or
             previous.endswith("-port") else word
             for previous, word in zip(["", *words], words, strict=False)]
    for word in words:
        if word.startswith("./"):
            (cwd / word).mkdir(parents=True, exist_ok=True)
    if not {"-p", "--port"} & set(words):
        words += ["--port", "0"]
    if words[3:4] == ["serve"]:  # the servers beside the demo, too
        words += ["--mail-port", "0", "--echo-port", "0", "--time-port", "0", "--ftp-port", "0"]
    proc = subprocess.Popen(words, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert re.search(r"listening|serving|on http|127\.0\.0\.1:\d+", first), (
            words, first, proc.stderr.read() if proc.poll() is not None else "")
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, (words, err)


def _run_python(demo: Demo, program: str, cwd: Path) -> None:
    result = subprocess.run([sys.executable, "-c", demo.localise(program)], cwd=cwd,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, (program, result.stderr[-2000:])


def _page_ids() -> list[str]:
    return ["/", "/sockets", "/packets", "/mail/", "/upload", "/subscribe.html", "/ftp.html",
            "/login", "/feeds/", "/rpc.html"]


@pytest.mark.parametrize("path", _page_ids())
def test_every_command_and_snippet_on_the_page_works(demo: Demo, path: str, tmp_path: Path):
    blocks = demo.pages.get(path)
    assert blocks is not None, f"{path} was not reached from the home page"
    (tmp_path / "somefile").write_bytes(os.urandom(1000))  # what the upload line sends
    for kind, step in _steps(blocks):
        if kind == "python":
            _run_python(demo, step, tmp_path)
        else:
            _run_shell(demo, step, tmp_path)


def test_every_crawled_page_is_covered(demo: Demo):
    """A new page with commands must be added to the list above (so it runs)."""
    with_commands = {path for path, blocks in demo.pages.items() if list(_steps(blocks))}
    assert with_commands <= set(_page_ids()), with_commands - set(_page_ids())


def test_the_examples_of_wirekit_get_help_work_against_the_demo(demo: Demo, tmp_path: Path):
    """The HTTP client's --help teaches with the demo: each example runs against it (but the
    last, which needs a server on a Unix socket)."""
    shown = subprocess.run([sys.executable, "-m", "wirekit", "get", "--help"],
                           capture_output=True, text=True, timeout=30, check=True).stdout
    examples = re.findall(r"^    (wirekit (?:get|post|http) .*)$", shown, re.M)
    assert len(examples) == 9
    (tmp_path / "order.json").write_text('{"item": "pen", "quantity": 2}')
    (tmp_path / "beach.jpg").write_bytes(b"\xff\xd8\xff" + os.urandom(500))
    port = demo.url.rpartition(":")[2]
    for example in examples[:-1]:
        line = example.replace(":8000", f":{port}")
        words = [sys.executable, "-m", "wirekit", *shlex.split(line)[1:]]
        result = subprocess.run(words, cwd=tmp_path, capture_output=True, text=True,
                                timeout=60, check=False)
        assert result.returncode == 0, (example, result.stdout[-500:], result.stderr[-500:])
    assert (tmp_path / "demo.pcap").stat().st_size > 0  # -O saved it under its own name
    assert "guido" in (tmp_path / "jar.txt").read_text() or "session" in (
        tmp_path / "jar.txt").read_text()
