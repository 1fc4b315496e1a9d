"""docs/index.md, the course map: every name it cites exists, every command it shows is a real
command, and every page it links to is there."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from wirekit.cli.main import cli

DOCS = Path(__file__).resolve().parent.parent / "docs"
INDEX = (DOCS / "index.md").read_text()


def resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ImportError(dotted)


@pytest.mark.parametrize("dotted", sorted(set(re.findall(r"`(wirekit(?:\.\w+)+)", INDEX))))
def test_every_library_name_exists(dotted: str):
    resolve(dotted)


@pytest.mark.parametrize("command", sorted(set(re.findall(r"`(wirekit [a-z]+(?: [a-z]+)?)",
                                                          INDEX))))
def test_every_command_exists(command: str):
    words = command.split()[1:]
    result = CliRunner().invoke(cli, [*words, "--help"])
    if result.exit_code != 0 and len(words) == 2:  # "wirekit echo ..." etc.: one word
        result = CliRunner().invoke(cli, [words[0], "--help"])
    assert result.exit_code == 0, (command, result.output)


def test_every_linked_page_exists_and_every_section_is_there():
    for link in re.findall(r"\]\(([\w-]+\.md)\)", INDEX):
        assert (DOCS / link).is_file(), link
    for number in range(1, 6):
        assert re.search(rf"^## {number}\. ", INDEX, re.M)
