"""The layers of DESIGN.md, enforced: imports point down the network stack only.

    rank 0  errors, config (and the package ``__init__``)
    rank 1  net, proto         side by side: proto never imports net or server
    rank 2  server
    rank 3  http, mail, ftp, rpc, channel
    rank 4  web, testing, demo
    rank 5  cli (and ``__main__``)

A module may import its own package and any package of the same or a lower rank. ``data`` is a
side column: it imports only errors/config and itself, and proto and everything of rank 1 and
up except net may use it. Nothing under ``proto/`` touches I/O modules (the cores are sans-IO),
and only ``cli`` reads environment variables.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "wirekit"

RANK: dict[str, int | None] = {
    "__init__": 0, "errors": 0, "config": 0,
    "net": 1, "proto": 1,
    "server": 2,
    "http": 3, "mail": 3, "ftp": 3, "rpc": 3, "channel": 3,
    "web": 4, "testing": 4, "demo": 4,
    "cli": 5, "__main__": 5,
    "data": None,  # side column
}
# Who may use the data column: proto and every package of rank >= 1 except net.
DATA_USERS = {name for name, rank in RANK.items() if rank is not None and rank >= 1} - {"net"}
# What the sans-IO cores must never import: the I/O layers of wirekit ...
PROTO_FORBIDDEN = {"net", "server"}
# ... nor the standard library's I/O modules.
IO_MODULES = {"socket", "ssl", "selectors", "threading", "asyncio", "multiprocessing"}
# Modules allowed to read the environment besides cli/ (with the reason), e.g. the HTTP
# client's opt-in proxy settings.
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


def _package_of(path: Path) -> list[str]:
    """The dotted package ``path`` belongs to, as parts (``wirekit.proto.http`` for a module
    in proto/http/), which is what a relative import starts from."""
    return ["wirekit", *path.relative_to(SRC).parent.parts]


def imported_names(tree: ast.AST, path: Path | None = None) -> set[str]:
    """Every module name imported, absolute; relative imports are resolved against ``path``."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if node.module:
                    found.add(node.module)
                continue
            assert path is not None, "a relative import needs the module's path to resolve"
            package = _package_of(path)
            base = package[: len(package) - node.level + 1]
            if node.module:
                found.add(".".join([*base, node.module]))
            else:  # from . import x: each x may be a module
                found.update(".".join([*base, alias.name]) for alias in node.names)
    return found


def wirekit_targets(path: Path) -> set[str]:
    """The top-level wirekit packages/modules ``path`` imports (``net``, ``errors``, ...)."""
    tree = ast.parse(path.read_text(), str(path))
    return {name.split(".")[1] for name in imported_names(tree, path)
            if name.startswith("wirekit.")}


def _ids(path: Path | None) -> str:
    return str(path.relative_to(SRC)) if path else "none"


@pytest.mark.parametrize("path", modules(), ids=_ids)
def test_imports_only_point_down(path: Path):
    layer = top_package(path)
    where = path.relative_to(SRC)
    assert layer in RANK, f"{layer} is not placed in a layer: add it to RANK and DESIGN.md"
    rank = RANK[layer]
    for target in sorted(wirekit_targets(path) - {layer}):
        assert target in RANK, f"{where}: wirekit.{target} is not placed in a layer"
        if layer == "data":
            assert target in ("errors", "config"), (
                f"{where}: data/ is a side column and may import only errors/config, "
                f"not wirekit.{target}")
        elif target == "data":
            assert layer in DATA_USERS, (
                f"{where}: {layer} (rank {rank}) may not use the data column; only proto and "
                "rank >= 1 packages other than net may")
        elif layer != "__init__":
            target_rank = RANK[target]
            assert rank is not None and target_rank is not None and target_rank <= rank, (
                f"{where}: {layer} (rank {rank}) imports the higher layer {target} "
                f"(rank {target_rank})")


PROTO_MODULES = [p for p in modules() if top_package(p) == "proto"] or [None]


@pytest.mark.parametrize("path", PROTO_MODULES, ids=_ids)
def test_protocol_cores_never_import_net_or_server(path: Path | None):
    """proto/ sits beside net/ (same rank), so the rank rule alone would let it import net."""
    if path is None:
        pytest.skip("no proto modules yet")
    used = wirekit_targets(path) & PROTO_FORBIDDEN
    assert not used, (
        f"{path.relative_to(SRC)} imports {', '.join(f'wirekit.{t}' for t in sorted(used))}: "
        "a sans-IO core takes bytes and returns events; sockets belong to net/ and the "
        "shells that drive the core (server/, or the protocol's client and server)")


@pytest.mark.parametrize("path", PROTO_MODULES, ids=_ids)
def test_protocol_cores_do_no_io(path: Path | None):
    if path is None:
        pytest.skip("no proto modules yet")
    names = imported_names(ast.parse(path.read_text()), path)
    used = {n.split(".")[0] for n in names} & IO_MODULES
    assert not used, f"{path.relative_to(SRC)} imports I/O: {sorted(used)}"


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


def test_the_checks_see_relative_imports():
    """A relative import is resolved before the rules apply (proto/http -> ..net is net)."""
    path = SRC / "proto" / "http" / "example.py"
    tree = ast.parse("from ...net import buffer\nfrom . import state\nfrom ..replies import x\n")
    assert imported_names(tree, path) == {
        "wirekit.net", "wirekit.proto.http.state", "wirekit.proto.replies"}


def _server_assignments(path: Path) -> list[str]:
    """``server.X = ...`` and ``server.process.X = ...`` statements in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else []
        for target in targets:
            if isinstance(target, ast.Attribute):
                owner = ast.unparse(target.value)
                if owner in ("server", "self.server", "server.process"):
                    found.append(f"{path.name}:{node.lineno}: {ast.unparse(target)}")
    return found


def test_modes_and_drivers_never_rebind_the_servers_state():
    """A forked process makes its own ``ServingProcess`` (``server.begin_process``); it does
    not patch the configuration or the serving state it inherited (issue 12)."""
    paths = [*(SRC / "server" / "modes").glob("*.py"), *(SRC / "server" / "drivers").glob("*.py"),
             SRC / "server" / "runner.py", SRC / "server" / "acceptor.py"]
    assert [line for path in paths for line in _server_assignments(path)] == []


def test_every_core_keeps_its_bytes_in_the_one_receive_buffer():
    """Protocol cores and the server's cores buffer what they receive in
    ``wirekit.proto.ReceiveBuffer``, not in a bytearray of their own (issue 12)."""
    paths = [p for p in modules() if top_package(p) in ("proto", "server")
             and p.name != "buffer.py"]
    own = [f"{p.relative_to(SRC)}:{node.lineno}" for p in paths
           for node in ast.walk(ast.parse(p.read_text(), str(p)))
           if isinstance(node, ast.Call) and ast.unparse(node.func) == "bytearray"
           and not node.args]
    assert own == []
