"""A site folder written from a dict, for the build tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

LAYOUT = """<html>
<head><title>$title</title></head>
<body>
Your Logo: Navigation Links
<hr>
$content
<hr>
<em>Copyright (C) $year</em>
</body>
</html>
"""


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write each ``relative path: content`` under ``root``; return ``root``."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def site(tmp_path: Path) -> Callable[[dict[str, str | bytes]], Path]:
    """``site({...})`` -> the folder ``tmp_path/site`` holding those files."""
    return lambda files: write_tree(tmp_path / "site", files)
