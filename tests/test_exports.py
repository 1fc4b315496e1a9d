"""The public surface, snapshotted (DESIGN.md principle 8: a small, stable public surface).

Every package whose ``__init__.py`` sets ``__all__`` is found by walking ``src/wirekit``; its
sorted ``__all__`` must match ``tests/exports.txt`` (one ``package: name`` line each), and every
name in it must exist on the package. A change to the surface is then a visible diff in review.

After an intended change, rewrite the snapshot with::

    .venv/bin/python tests/test_exports.py --update
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
SNAPSHOT = Path(__file__).resolve().with_name("exports.txt")
UPDATE = ".venv/bin/python tests/test_exports.py --update"
HEADER = f"# The public surface: each package's sorted __all__.\n# Regenerate with: {UPDATE}\n"
# Packages the snapshot must always cover: losing one from the walk is a failure, not a skip.
REQUIRED = {
    "wirekit", "wirekit.net", "wirekit.server", "wirekit.proto.http", "wirekit.data",
    "wirekit.http", "wirekit.http.server", "wirekit.http.client", "wirekit.http.static",
    "wirekit.http.cgi", "wirekit.http.forms",
}


def _sets_all(init: Path) -> bool:
    """True if the module body assigns ``__all__`` (plainly, annotated or augmented)."""
    for node in ast.parse(init.read_text(), str(init)).body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return True
    return False


def public_packages() -> list[str]:
    """Dotted names of the packages under src/wirekit with an ``__all__``, sorted."""
    found = []
    for init in sorted((SRC / "wirekit").rglob("__init__.py")):
        if _sets_all(init):
            found.append(".".join(init.parent.relative_to(SRC).parts))
    return found


def current_surface() -> dict[str, list[str]]:
    return {name: sorted(importlib.import_module(name).__all__) for name in public_packages()}


def read_snapshot() -> dict[str, list[str]]:
    surface: dict[str, list[str]] = {}
    if not SNAPSHOT.exists():
        return surface
    for line in SNAPSHOT.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        package, _, name = line.partition(": ")
        surface.setdefault(package, []).append(name)
    return surface


def render(surface: dict[str, list[str]]) -> str:
    return HEADER + "".join(
        f"{package}: {name}\n" for package in sorted(surface) for name in surface[package])


def describe(expected: dict[str, list[str]], actual: dict[str, list[str]]) -> str:
    """Names added to and removed from each package, relative to the snapshot."""
    lines = []
    for package in sorted(expected.keys() | actual.keys()):
        old, new = set(expected.get(package, ())), set(actual.get(package, ()))
        if package not in expected:
            lines.append(f"  new package {package}")
        elif package not in actual:
            lines.append(f"  package {package} no longer has an __all__")
        lines += [f"  + {package}: {name}" for name in sorted(new - old)]
        lines += [f"  - {package}: {name}" for name in sorted(old - new)]
    return "\n".join(lines)


def test_every_required_package_has_an_all():
    missing = REQUIRED - set(public_packages())
    assert not missing, f"no __all__ found in: {sorted(missing)}"


@pytest.mark.parametrize("package", public_packages())
def test_every_exported_name_exists(package: str):
    module = importlib.import_module(package)
    names = list(module.__all__)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    assert not duplicates, f"{package}.__all__ lists these more than once: {duplicates}"
    absent = [name for name in names if not hasattr(module, name)]
    assert not absent, f"{package}.__all__ names what the package does not have: {absent}"


def test_public_surface_matches_the_snapshot():
    expected, actual = read_snapshot(), current_surface()
    if expected != actual:
        pytest.fail(
            f"the public surface changed (vs {SNAPSHOT.relative_to(ROOT)}):\n"
            f"{describe(expected, actual)}\n"
            f"If intended, update the snapshot with: {UPDATE}",
            pytrace=False)


def main(argv: list[str]) -> int:
    if argv != ["--update"]:
        print(f"usage: {UPDATE}", file=sys.stderr)
        return 2
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))  # the working tree, even if another wirekit is installed
    expected, actual = read_snapshot(), current_surface()
    SNAPSHOT.write_text(render(actual))
    changes = describe(expected, actual)
    print(f"{SNAPSHOT.relative_to(ROOT)} written" + (f":\n{changes}" if changes else ", unchanged"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
