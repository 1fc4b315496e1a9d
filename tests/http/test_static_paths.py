"""StaticFiles never serves anything outside its root (SECURITY.md S01-S03, S07).

A canary file sits just outside the served root; a corpus of traversal encodings is sent raw
(byte for byte, over a socket) and through curl ``--path-as-is``, and none may return it.
Symlinks that leave the root, dotfiles and NUL bytes get their own tests.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wirekit.errors import ConfigError
from wirekit.http.static import StaticFiles
from wirekit.http.static.paths import PathRefused, collapse_segments, url_segments
from wirekit.testing import serve_wsgi

from .static_support import curl, raw_request

CANARY = "CANARY-" + secrets.token_hex(8)


def make_tree(tmp_path: Path) -> Path:
    """tmp/secret.txt (the canary), tmp/outside/secret.txt, and the root tmp/root/..."""
    (tmp_path / "secret.txt").write_text(CANARY)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text(CANARY)
    root = tmp_path / "root"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_text("inside a\n")
    (root / "sub" / "b.txt").write_text("inside b\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core] " + CANARY)
    (root / ".env").write_text("TOKEN=" + CANARY)
    return root


def add_links(tree: Path) -> Path:
    outside = tree.parent
    (tree / "to-secret").symlink_to(outside / "secret.txt")
    (tree / "to-outside").symlink_to(outside / "outside", target_is_directory=True)
    (tree / "sub" / "up").symlink_to("../../secret.txt")
    (tree / "to-a").symlink_to("a.txt")
    (tree / "to-sub").symlink_to("sub", target_is_directory=True)
    (tree / "hop1").symlink_to("hop2")  # inside, then out
    (tree / "hop2").symlink_to(outside / "secret.txt")
    (tree / "loop").symlink_to("loop")
    (tree / "dangling").symlink_to("nowhere")
    return tree


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path)


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return add_links(make_tree(tmp_path_factory.mktemp("static")))


@pytest.fixture(scope="module")
def served(linked: Path) -> Iterator[str]:
    """One server for the read-only tests: the linked tree with the default options."""
    with serve_wsgi(StaticFiles(linked)) as url:
        yield url


@pytest.fixture(scope="module")
def followed(linked: Path) -> Iterator[str]:
    with serve_wsgi(StaticFiles(linked, follow_symlinks=True)) as url:
        yield url


# (name, raw request target) -- every one tries to reach ../secret.txt from the root.
CORPUS = [
    ("dotdot", "/../secret.txt"),
    ("dotdot-deep", "/../../../../../../../../secret.txt"),
    ("dotdot-after-dir", "/sub/../../secret.txt"),
    ("dotdot-after-deep-dir", "/sub/deeper/../../../secret.txt"),
    ("pct-dots", "/%2e%2e/secret.txt"),
    ("pct-dots-upper", "/%2E%2E/secret.txt"),
    ("pct-one-dot", "/.%2e/secret.txt"),
    ("pct-other-dot", "/%2e./secret.txt"),
    ("pct-slash", "/..%2fsecret.txt"),
    ("pct-slash-upper", "/..%2Fsecret.txt"),
    ("pct-all", "/%2e%2e%2fsecret.txt"),
    ("pct-chain", "/sub/..%2f..%2fsecret.txt"),
    ("pct-backslash", "/..%5csecret.txt"),
    ("pct-all-backslash", "/%2e%2e%5csecret.txt"),
    ("backslash", "/..\\secret.txt"),
    ("backslash-chain", "/sub\\..\\..\\secret.txt"),
    ("double-encoded", "/%252e%252e%252fsecret.txt"),
    ("double-encoded-slash", "/..%252fsecret.txt"),
    ("double-slash", "//../secret.txt"),
    ("dot-then-dotdot", "/./../secret.txt"),
    ("empty-segments", "/sub//..//..//secret.txt"),
    ("overlong-utf8-dot", "/%c0%ae%c0%ae/secret.txt"),
    ("overlong-utf8-slash", "/..%c0%afsecret.txt"),
    ("iis-unicode", "/%u002e%u002e/secret.txt"),
    ("fullwidth-dots", "/%ef%bc%8e%ef%bc%8e/secret.txt"),
    ("semicolon", "/..;/secret.txt"),
    ("nul-after-dots", "/..%00/secret.txt"),
    ("nul-in-name", "/../secret.txt%00.png"),
    ("absolute-form", "http://127.0.0.1/../secret.txt"),
    ("drive-letter", "/C:/../../secret.txt"),
    ("drive-letter-backslash", "/C:\\..\\secret.txt"),
    ("hidden-then-dotdot", "/.git/../../secret.txt"),
    ("outside-dir", "/../outside/secret.txt"),
]


@pytest.fixture(scope="module")
def permissive(linked: Path) -> Iterator[str]:
    """Every opt-in on: the traversal checks must not lean on the dotfile rule."""
    with serve_wsgi(StaticFiles(linked, follow_symlinks=True, show_hidden=True)) as url:
        yield url


@pytest.mark.parametrize("options", ["default", "permissive"])
@pytest.mark.parametrize(("name", "target"), CORPUS, ids=[n for n, _ in CORPUS])
def test_traversal_never_leaves_the_root(request, options: str, name: str, target: str):
    url = request.getfixturevalue("served" if options == "default" else "permissive")
    answer = raw_request(url, target)
    assert CANARY.encode() not in answer.raw
    assert answer.status in (400, 403, 404), (name, answer.status)


def test_corpus_has_at_least_twenty_encodings():
    assert len({target for _, target in CORPUS}) >= 20


@pytest.mark.parametrize("target", ["/../secret.txt", "/sub/../../secret.txt",
                                    "/%2e%2e/secret.txt", "/..%2fsecret.txt"])
def test_traversal_with_curl_path_as_is(served: str, target: str):
    answer = curl("--path-as-is", served + target)
    assert CANARY.encode() not in answer.raw
    assert answer.status == 404


def test_absolute_path_of_the_canary_is_not_served(served: str, linked: Path):
    absolute = str(linked.parent / "secret.txt")
    for target in ("/" + absolute, absolute, "//" + absolute.lstrip("/")):
        answer = raw_request(served, target)
        assert answer.status == 404
        assert CANARY.encode() not in answer.raw


def test_nul_byte_is_a_bad_request(served: str):
    assert raw_request(served, "/a.txt%00").status == 400
    assert raw_request(served, "/a.txt%00.html").status == 400


@pytest.mark.parametrize(("target", "body"), [
    ("/sub/../a.txt", b"inside a\n"),
    ("/a/./../a.txt", b"inside a\n"),
    ("//a.txt", b"inside a\n"),
    ("/./sub/./b.txt", b"inside b\n"),
    ("/sub/deeper/../b.txt", b"inside b\n"),
    ("/sub%2fb.txt", b"inside b\n"),
    ("/%61.txt", b"inside a\n"),
])
def test_dot_segments_resolve_consistently_inside_the_root(served: str, target, body):
    answer = raw_request(served, target)
    assert (answer.status, answer.body) == (200, body)


# -- symlinks (S03) ------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/to-secret", "/to-outside/secret.txt", "/sub/up",
                                    "/hop1", "/to-outside/", "/loop", "/dangling"])
def test_symlinks_leaving_the_root_are_refused(served: str, target: str):
    answer = raw_request(served, target)
    assert answer.status == 404
    assert CANARY.encode() not in answer.raw


def test_symlinks_inside_the_root_work(served: str):
    assert raw_request(served, "/to-a").body == b"inside a\n"
    assert raw_request(served, "/to-sub/b.txt").body == b"inside b\n"


@pytest.mark.parametrize("target", ["/to-secret", "/to-outside/secret.txt", "/sub/up", "/hop1"])
def test_follow_symlinks_is_an_explicit_opt_in(followed: str, target: str):
    answer = raw_request(followed, target)
    assert (answer.status, answer.body) == (200, CANARY.encode())


def test_follow_symlinks_still_refuses_dotdot_and_loops(followed: str):
    assert raw_request(followed, "/../secret.txt").status == 404
    assert raw_request(followed, "/loop").status == 404


def test_listing_hides_links_that_leave_the_root(served: str, followed: str):
    page = raw_request(served, "/").body.decode()
    assert 'href="to-a"' in page
    assert 'href="to-sub/"' in page
    for name in ("to-secret", "to-outside", "hop1", "hop2", "loop", "dangling"):
        assert f'href="{name}' not in page
    followed_page = raw_request(followed, "/").body
    assert b'href="to-secret"' in followed_page
    assert b'href="to-outside/"' in followed_page


def test_fifo_is_not_served(wsgi_server, tree: Path):
    os.mkfifo(tree / "pipe")
    url = wsgi_server(StaticFiles(tree))
    assert raw_request(url, "/pipe").status == 404  # and it did not hang on open()
    assert b"pipe" not in raw_request(url, "/").body


# -- dotfiles (S07) ------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/.git/config", "/.env", "/.git/", "/%2egit/config",
                                    "/sub/../.env", "/.git"])
def test_dotfiles_are_hidden_by_default(served: str, target: str):
    answer = raw_request(served, target)
    assert answer.status == 404
    assert CANARY.encode() not in answer.raw


def test_listing_omits_dotfiles_unless_shown(wsgi_server, tree: Path):
    hidden = raw_request(wsgi_server(StaticFiles(tree)), "/").body
    assert b".env" not in hidden
    assert b".git" not in hidden
    shown_url = wsgi_server(StaticFiles(tree, show_hidden=True))
    shown = raw_request(shown_url, "/").body
    assert b'href=".env"' in shown
    assert b'href=".git/"' in shown
    assert raw_request(shown_url, "/.env").body == ("TOKEN=" + CANARY).encode()


# -- the resolver itself -------------------------------------------------------------------


@pytest.mark.parametrize(("path_info", "names"), [
    ("/", []),
    ("", []),
    ("/a/./b/../c", ["a", "c"]),
    ("//a//b//", ["a", "b"]),
    ("/a/..", []),
    ("/%2e%2e", ["%2e%2e"]),
    ("/caf\xc3\xa9", ["café"]),          # PEP 3333: UTF-8 bytes as latin-1 text
    ("/caf\xe9", ["caf\udce9"]),         # not UTF-8: kept byte for byte as a surrogate
])
def test_url_segments(path_info: str, names: list[str]):
    assert url_segments(path_info) == names


@pytest.mark.parametrize(("path_info", "status"), [
    ("/..", 404), ("/a/../..", 404), ("/a\\b", 404), ("/x\x00", 400), ("/\u20ac", 400),
])
def test_url_segments_refuses(path_info: str, status: int):
    with pytest.raises(PathRefused) as info:
        url_segments(path_info)
    assert info.value.status == status


def test_root_must_be_a_directory(tmp_path: Path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError):
        StaticFiles(tmp_path / "f")
    with pytest.raises(ConfigError):
        StaticFiles(tmp_path, index="../x")


def _outcome(function, path_info: str):
    try:
        return function(path_info)
    except PathRefused as refused:
        return refused.status


@given(st.text(alphabet="/.\\\x00a%é\xc3\xa9\u20ac", max_size=12))
def test_fast_path_agrees_with_the_general_case(path_info: str):
    path_info = "/" + path_info
    assert _outcome(url_segments, path_info) == _outcome(collapse_segments, path_info)


@given(st.text(alphabet="/.\\a\x00é", max_size=12))
def test_no_name_can_climb_or_hide_a_separator(path_info: str):
    names = _outcome(url_segments, "/" + path_info)
    if isinstance(names, list):
        for name in names:
            assert name not in ("", ".", "..")
            assert "/" not in name and "\\" not in name and "\x00" not in name


class _SwapBeforeOpen(StaticFiles):
    """Swaps ``docs`` for a link to outside the root after the path check, before the open:
    the window a racing attacker aims for, made certain instead of hoped for."""

    def __init__(self, root: Path, outside: Path) -> None:
        super().__init__(root)
        self.docs, self.outside = root / "docs", outside
        self.swapped = 0

    def _open(self, found):
        if self.docs.is_dir() and not self.docs.is_symlink():
            self.docs.rename(self.docs.with_name("docs.real"))
            self.docs.symlink_to(self.outside, target_is_directory=True)
            self.swapped += 1
        return super()._open(found)


def test_a_directory_swapped_for_a_link_after_the_check_serves_nothing_outside(tmp_path):
    # A race measured 10,228 files from outside the root in 62,439 requests: the check walked
    # the names, then open() followed the swapped directory (O_NOFOLLOW guards the last name).
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "docs").mkdir(parents=True)
    outside.mkdir()
    (root / "docs" / "page.txt").write_bytes(b"inside" * 20_000)  # not the small-file cache
    (outside / "page.txt").write_bytes(b"SECRET" * 20_000)
    app = _SwapBeforeOpen(root, outside)
    with serve_wsgi(app) as url:
        answer = raw_request(url, "/docs/page.txt")
    assert app.swapped == 1
    assert b"SECRET" not in answer.body and answer.status == 404


def test_the_walk_without_proc_refuses_links_on_the_way(tmp_path, monkeypatch):
    from wirekit.http.static import paths

    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "a").mkdir(parents=True)
    outside.mkdir()
    (root / "a" / "f.txt").write_bytes(b"in")
    (outside / "f.txt").write_bytes(b"out")
    found = paths.resolve(str(root), str(root), ["a", "f.txt"], follow_symlinks=False)
    monkeypatch.setattr(paths, "_HAVE_PROC", False)
    fd = paths.open_checked(str(root), found, follow_symlinks=False)
    assert os.read(fd, 10) == b"in"
    os.close(fd)
    (root / "a").rename(root / "a.real")
    (root / "a").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PathRefused):
        paths.open_checked(str(root), found, follow_symlinks=False)
