"""The layers of DESIGN.md, enforced: imports point down the network stack only.

    errors/config (0) <- net (1) <- server (2) <- proto (3) <- http/mail/ftp/rpc (4)
        <- web/testing (5) <- demo (6) <- cli (7)

``data`` is a side column: it imports only errors/config and itself, and any layer from the
protocols up may use it. Nothing under ``proto/`` touches I/O modules, and only ``cli`` reads
environment variables.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "wirekit"

RANK = {
    "__init__": 0, "__main__": 7, "errors": 0, "config": 0,
    "net": 1, "server": 2, "proto": 3,
    "http": 4, "mail": 4, "ftp": 4, "rpc": 4,
    "web": 5, "testing": 5, "demo": 6, "cli": 7,
    "data": None,  # side column
}
IO_MODULES = {"socket", "ssl", "selectors", "threading", "asyncio", "multiprocessing"}
# Modules allowed to read the environment besides cli/ (with the reason), e.g. the HTTP
# client's opt-in proxy settings. Empty until a module needs it.
ENV_READERS: dict[str, str] = {
    "http/cgienv.py": "a CGI script's environment is its request (RFC 3875)",
    "http/client/environment.py": "HTTP(S)_PROXY/NO_PROXY, read only when the caller opts in "
    "(Session(trust_env=True) or proxies='env'); the CLI does",
}


def modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def top_package(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def wirekit_imports(tree: ast.AST) -> set[str]:
    """Top-level wirekit packages imported, plus every external module name."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_only_point_down(path: Path):
    layer = top_package(path)
    assert layer in RANK, f"{layer} is not placed in a layer: add it to RANK and DESIGN.md"
    tree = ast.parse(path.read_text(), str(path))
    for name in wirekit_imports(tree):
        parts = name.split(".")
        if parts[0] != "wirekit" or len(parts) < 2:
            continue
        target = parts[1]
        if target == layer:
            continue
        if layer == "data":
            assert target in ("errors", "config"), f"data/ must not import wirekit.{target}"
        elif target == "data":
            assert RANK[layer] is not None and RANK[layer] >= 4, (
                f"{layer} (rank {RANK[layer]}) may not use the data column")
        elif layer not in ("__init__",):
            assert RANK[target] is not None and RANK[target] <= RANK[layer], (
                f"{path.relative_to(SRC)}: {layer} imports the higher layer {target}")


@pytest.mark.parametrize("path", [p for p in modules() if top_package(p) == "proto"] or [None],
                         ids=lambda p: str(p.relative_to(SRC)) if p else "none")
def test_protocol_cores_do_no_io(path: Path | None):
    if path is None:
        pytest.skip("no proto modules yet")
    names = wirekit_imports(ast.parse(path.read_text()))
    assert not {n.split(".")[0] for n in names} & IO_MODULES, f"{path} imports I/O"


_ENV_NAMES = {"environ", "getenv", "environb", "putenv"}


def test_only_the_cli_reads_environment_variables():
    offenders = []
    for path in modules():
        rel = str(path.relative_to(SRC))
        if top_package(path) == "cli" or rel in ENV_READERS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            # os.environ / os.getenv / os.environb, or importing them from os. (A WSGI
            # ``self.environ`` is a request's environment, not the process's.)
            reads_os = isinstance(node, ast.Attribute) and node.attr in _ENV_NAMES and \
                isinstance(node.value, ast.Name) and node.value.id == "os"
            imports_os = isinstance(node, ast.ImportFrom) and node.module == "os" and \
                bool({alias.name for alias in node.names} & _ENV_NAMES)
            if reads_os or imports_os:
                offenders.append(f"{rel}:{node.lineno}")
    assert not offenders, f"environment read outside cli/: {offenders}"


def test_the_root_package_stays_small():
    init = ast.parse((SRC / "__init__.py").read_text())
    imported = {n.module for n in ast.walk(init) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"wirekit.errors"}, "importing wirekit must stay cheap"
