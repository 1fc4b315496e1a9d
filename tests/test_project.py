"""Project promises: the two-command quick start, CI running it unchanged, a clean lint and
clean types."""

from __future__ import annotations

import re
import subprocess
import sys
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


def test_python_dash_m_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "wirekit", "--version"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "wirekit" in result.stdout
