"""Byte sizes as people type them on the command line."""

from __future__ import annotations

import pytest

from wirekit.cli.sizes import parse_size


@pytest.mark.parametrize(("text", "size"), [
    ("1048576", 1 << 20), ("512K", 512 << 10), ("100M", 100 << 20), ("2G", 2 << 30),
    ("2g", 2 << 30), ("10MB", 10 << 20), ("10MiB", 10 << 20), (" 1 G ", 1 << 30),
])
def test_sizes_with_units(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "ten", "1.5G", "-1", "10X", "G"])
def test_anything_else_is_refused_with_examples(text):
    with pytest.raises(ValueError, match="examples"):
        parse_size(text)
