"""``wirekit rpc serve|call|list``, run as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SERVICE = '''
from os import system  # imported, so never served


def add(a, b):
    """Add two numbers."""
    return a + b


def stamp():
    import datetime
    return [b"\\x00\\x01", datetime.datetime(2024, 1, 2, 3, 4, 5)]


def fail():
    raise ValueError("no luck")


def _hidden():
    return "private"


class Calculator:
    def mul(self, a, b):
        return a * b
'''


@pytest.fixture
def rpc_serve(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """``rpc_serve(TARGET, *options)`` starts ``wirekit rpc serve`` in ``tmp_path``; returns
    its URL."""
    (tmp_path / "service.py").write_text(SERVICE)
    procs: list[subprocess.Popen] = []

    def start(target: str, *options: str) -> str:
        proc = subprocess.Popen([sys.executable, "-m", "wirekit", "rpc", "serve", target,
                                 "--port", "0", *options], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs.append(proc)
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(20)
        if not line or not line[0]:
            proc.kill()
            raise RuntimeError(proc.stderr.read().decode()[-2000:])
        banner = line[0].decode()
        assert banner.startswith("wirekit rpc: ")
        return banner.split(" on ", 1)[1].split()[0]

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(30)
        proc.stdout.close()
        proc.stderr.close()


def test_serve_a_module_then_call_and_list(rpc_serve, cli):
    url = rpc_serve("service")
    called = cli("rpc", "call", url, "add", "3", "5")
    assert (called.code, called.stdout.strip()) == (0, "8")
    listed = cli("rpc", "list", url)
    assert listed.code == 0
    names = listed.stdout.split()
    assert {"add", "stamp", "fail", "system.listMethods"} <= set(names)
    assert not {"system", "_hidden", "Calculator"} & set(names)  # imported, private, a class
    stamped = cli("rpc", "call", url, "stamp")
    assert json.loads(stamped.stdout) == ["AAE=", "2024-01-02T03:04:05"]


def test_a_fault_exits_with_its_own_code(rpc_serve, cli):
    url = rpc_serve("service")
    failed = cli("rpc", "call", url, "fail")
    assert failed.code == 10
    assert failed.stderr.strip() == "wirekit rpc: error: fault -32000: ValueError: no luck"
    missing = cli("rpc", "call", url, "system")
    assert missing.code == 10
    assert "-32601" in missing.stderr


def test_serve_an_object_over_jsonrpc(rpc_serve, cli):
    url = rpc_serve("service:Calculator", "--jsonrpc")
    assert cli("rpc", "call", "--jsonrpc", url, "mul", "6", "7").stdout.strip() == "42"
    plain = cli("rpc", "call", url, "mul", "6", "7")  # XML-RPC to a JSON-RPC server
    assert plain.code == 4  # 415 from the server: a 4xx status
    assert plain.stderr.count("\n") == 1


@pytest.mark.parametrize(("args", "code"), [
    (("rpc", "serve", "no_such_module"), 2),
    (("rpc", "serve", "service:nothing"), 2),
    (("rpc", "serve", "service:_hidden"), 2),
    (("rpc", "call", "http://127.0.0.1:1/", "add", "1"), 7),
    (("rpc", "call", "http://127.0.0.1:1/", "add", "not-json"), 2),
    (("rpc", "list", "http://127.0.0.1:1/"), 7),
])
def test_errors_are_one_line_and_exit_by_cause(cli, tmp_path, monkeypatch, args, code):
    (tmp_path / "service.py").write_text(SERVICE)
    monkeypatch.chdir(tmp_path)
    result = cli(*args)
    assert result.code == code
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
