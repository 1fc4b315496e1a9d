"""Project promises: the two-command quick start, CI running it unchanged, a clean lint and
clean types."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", section, re.S)
    return [line.strip() for block in blocks for line in block.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def test_readme_quick_start_is_exactly_two_commands():
    commands = quick_start_commands()
    assert len(commands) == 2, commands
    assert "wirekit" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_unchanged():
    ci = (REPO / ".ci" / "run").read_text()
    assert quick_start_commands()[1] in ci


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--quiet", str(REPO)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing_in_src():
    """Types are checked over src/ with zero errors (configuration in pyproject.toml); each
    remaining ``type: ignore`` carries its reason on the same line."""
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary"],
                            capture_output=True, text=True, check=False, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


# ``# type: ignore[code, ...]`` then ``# why`` on the same line; or, where the reason cannot fit,
# the ignore with its code alone and the line above a comment ``# type: ignore reason: why``.
_IGNORE_WITH_REASON = re.compile(r"type:\s*ignore\[[\w-]+(?:,\s*[\w-]+)*\]\s*#\s*\S")
_IGNORE_WITH_CODE = re.compile(r"type:\s*ignore\[[\w-]+(?:,\s*[\w-]+)*\]")
_REASON_ABOVE = re.compile(r"^\s*#\s*type:\s*ignore reason:\s*\S")


def unexplained_type_ignores(root: Path) -> list[str]:
    """``file:line: text`` for each ``type: ignore`` comment under ``root`` that lacks an
    error code in brackets or a reason (only comments count, not strings)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type != tokenize.COMMENT or "type:" not in token.string:
                continue
            comment, number = token.string, token.start[0]
            if _REASON_ABOVE.match(comment) or not re.search(r"type:\s*ignore", comment):
                continue  # a reason for the line below, or another ``type:`` comment
            above = lines[number - 2] if number > 1 else ""
            if _IGNORE_WITH_REASON.search(comment) or (
                    _IGNORE_WITH_CODE.search(comment) and _REASON_ABOVE.match(above)):
                continue
            found.append(f"{path.relative_to(REPO)}:{number}: {lines[number - 1].strip()}")
    return found


def test_every_type_ignore_says_why():
    """Each ``type: ignore`` in src/ names its error code and says why mypy is overruled, so
    the next reader can tell whether the reason still holds. Nothing is exempt."""
    missing = unexplained_type_ignores(REPO / "src")
    assert not missing, (
        f"{len(missing)} `type: ignore` comment(s) without an error code and a reason; write "
        "`# type: ignore[code]  # why` (or `# type: ignore reason: why` on the line above "
        "when it cannot fit):\n" + "\n".join(missing))


def test_python_dash_m_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "wirekit", "--version"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "wirekit" in result.stdout
