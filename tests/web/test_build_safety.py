"""A build reads only SRC and writes only OUT: symlinks either way, FIFOs, and ``clean``."""

from __future__ import annotations

import os

import pytest

from wirekit import ConfigError
from wirekit.web import OutputError, build


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("TOP SECRET")
    return path


def _files(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_symlink_leaving_src_is_skipped_and_said(site, tmp_path, secret):
    src = site({"index.html": "i"})
    (src / "leak.txt").symlink_to(secret)
    (src / "_data.json").symlink_to(secret)  # an input too: never read through
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.txt").write_text("outside")
    (src / "docs").symlink_to(tmp_path / "outside", target_is_directory=True)
    report = build(src, tmp_path / "out")
    assert dict(report.skipped) == {
        "_data.json": "a symlink that leaves SRC (not followed); not used",
        "docs": "a symlink to a directory (not followed)",
        "leak.txt": "a symlink that leaves SRC (not followed)",
    }
    assert _files(tmp_path / "out") == [".wirekit-build", "index.html"]
    assert report.summary().endswith("3 skipped")


def test_a_symlink_inside_src_is_used_like_its_target(site, tmp_path):
    src = site({"real/logo.svg": "<svg/>", "index.html": "$v", "shared.json": '{"v": "linked"}'})
    (src / "logo.svg").symlink_to(src / "real" / "logo.svg")
    (src / "index.json").symlink_to("shared.json")
    report = build(src, tmp_path / "out")
    assert (tmp_path / "out" / "logo.svg").read_text() == "<svg/>"
    assert not (tmp_path / "out" / "logo.svg").is_symlink()
    assert (tmp_path / "out" / "index.html").read_text() == "linked"
    assert report.skipped == ()


def test_broken_symlinks_and_fifos_are_skipped_without_blocking(site, tmp_path):
    src = site({"index.html": "i"})
    (src / "gone.txt").symlink_to(tmp_path / "nowhere")
    (src / "loop").symlink_to(src / "loop")
    os.mkfifo(src / "pipe")  # reading it would block the build forever
    report = build(src, tmp_path / "out")
    assert dict(report.skipped) == {"gone.txt": "a broken symlink", "loop": "a broken symlink",
                                    "pipe": "not a regular file"}
    assert _files(tmp_path / "out") == [".wirekit-build", "index.html"]


def test_a_symlink_in_out_that_leaves_it_is_not_written_through(site, tmp_path):
    src = site({"docs/page.html": "p"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "docs").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OutputError, match="a symlink that leaves OUT") as caught:
        build(src, tmp_path / "out")
    assert isinstance(caught.value, OSError)
    assert list(elsewhere.iterdir()) == []


def test_a_file_symlink_in_out_is_replaced_not_written_through(site, tmp_path, secret):
    src = site({"index.html": "new page"})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "index.html").symlink_to(secret)
    build(src, tmp_path / "out")
    assert secret.read_text() == "TOP SECRET"
    assert not (tmp_path / "out" / "index.html").is_symlink()
    assert (tmp_path / "out" / "index.html").read_text() == "new page"


def test_a_folder_where_a_page_goes_is_an_output_error(site, tmp_path):
    src = site({"index.html": "i", "a.txt": "a"})
    (tmp_path / "out" / "index.html").mkdir(parents=True)
    with pytest.raises(OutputError, match="a folder is in the way of a file"):
        build(src, tmp_path / "out")
    (tmp_path / "out" / "index.html").rmdir()
    (tmp_path / "out" / "sub").write_text("a file")
    site({"sub/page.html": "p"})
    with pytest.raises(OutputError, match="a file is in the way of a folder"):
        build(src, tmp_path / "out")


def test_no_temporary_file_is_left_behind(site, tmp_path):
    src = site({"index.html": "i", "a/b.css": "b"})
    build(src, tmp_path / "out")
    build(src, tmp_path / "out")
    assert not [p for p in (tmp_path / "out").rglob("*.tmp")]


def test_clean_deletes_what_the_build_no_longer_makes(site, tmp_path):
    src = site({"index.html": "i", "old.html": "o", "img/a.png": "a", "img/b.png": "b"})
    out = tmp_path / "out"
    build(src, out)
    (src / "old.html").unlink()
    (src / "img" / "a.png").unlink()
    (src / "img" / "b.png").unlink()
    kept = build(src, out)  # without clean: stale files stay
    assert kept.removed == () and (out / "old.html").exists()
    report = build(src, out, clean=True)
    assert report.removed == ("img/a.png", "img/b.png", "old.html")
    assert _files(out) == [".wirekit-build", "index.html"]  # the empty img/ went too
    assert report.summary() == "0 pages rendered, 0 files copied, 1 unchanged, 3 removed"


def test_clean_refuses_a_folder_the_build_did_not_make(site, tmp_path):
    src = site({"index.html": "i"})
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    with pytest.raises(ConfigError, match=r"--clean would delete files in .* no \.wirekit-build"):
        build(src, home, clean=True)
    assert _files(home) == ["thesis.tex"]
    build(src, home)  # a plain build is fine, and marks the folder ...
    report = build(src, home, clean=True)  # ... after which clean may delete
    assert report.removed == ("thesis.tex",)


def test_clean_into_a_new_or_empty_folder(site, tmp_path):
    src = site({"index.html": "i"})
    (tmp_path / "empty").mkdir()
    assert build(src, tmp_path / "empty", clean=True).rendered == ("index.html",)
    assert build(src, tmp_path / "new" / "deep", clean=True).rendered == ("index.html",)


def test_clean_deletes_a_stray_symlink_itself_not_its_target(site, tmp_path, secret):
    src = site({"index.html": "i"})
    out = tmp_path / "out"
    build(src, out)
    (out / "stray").symlink_to(secret)
    (out / "strays").symlink_to(tmp_path, target_is_directory=True)
    report = build(src, out, clean=True)
    assert report.removed == ("stray", "strays")
    assert secret.read_text() == "TOP SECRET" and (tmp_path / "site").is_dir()
