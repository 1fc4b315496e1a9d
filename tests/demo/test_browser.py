"""The demo site in a real browser: Playwright driving Debian's chromium over loopback.

What urllib cannot see is checked here: the pages render without console errors, blocked or
failed requests (a stylesheet the page's CSP refuses, a missing icon); they fit a phone's
width with no horizontal scroll, in light and dark; the forms work when a person fills them
(subscribe through CGI, an upload, the login, the RPC page's script); a 404's link leads home.

One browser for the module (launching is the slow part); a fresh context per flow. Skipped,
saying why, when playwright or /usr/bin/chromium is missing (``.ci/run`` installs both).
"""

from __future__ import annotations

import hashlib
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from wirekit.demo import make_demo_app
from wirekit.testing import Catcher, catch_mail, serve_wsgi

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright is not installed (pip install playwright)")
if not CHROMIUM.exists():
    pytest.skip(f"no browser at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LOOKS = [pytest.param(size, scheme, id=f"{name}-{scheme}")
         for name, size in (("desktop", DESKTOP), ("phone", PHONE))
         for scheme in ("light", "dark")]
# Every HTML page a visitor can reach, and its status (/hello is the course's text/plain app).
PAGES = {"/": 200, "/subscribe.html": 200, "/upload": 200, "/files/": 200, "/mail/": 200,
         "/login": 200, "/private": 403, "/rpc.html": 200, "/feeds/": 200,
         "/sockets": 200, "/packets": 200, "/ftp.html": 200, "/missing": 404,
         "/files/no/such/file": 404, "/cgi-bin/": 403}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[str, Catcher]]:
    with catch_mail() as catcher, serve_wsgi(make_demo_app(
            mail=catcher.server.store, smtp=f"{catcher.host}:{catcher.port}")) as base:
        yield base, catcher


@dataclass
class Watched:
    """A page with everything that went wrong while it was used."""

    page: Any
    problems: list[str] = field(default_factory=list)
    expected: set[str] = field(default_factory=set)  # URLs meant to answer 4xx

    def goto(self, url: str, status: int = 200) -> Any:
        if status >= 400:
            self.expected.add(url)
        response = self.page.goto(url)
        assert response is not None and response.status == status, (url, response)
        return response

    def check(self) -> None:
        assert self.problems == [], self.problems

    def no_horizontal_scroll(self) -> None:
        wide = self.page.evaluate("document.documentElement.scrollWidth")
        seen = self.page.evaluate("document.documentElement.clientWidth")
        assert wide <= seen, f"{self.page.url}: {wide}px wide on a {seen}px screen"


@pytest.fixture
def watch(browser) -> Iterator[Any]:
    """``watch(viewport=..., color_scheme=...) -> Watched``, closed after the test."""
    contexts: list[Any] = []

    def open_page(viewport: dict[str, int] = DESKTOP, color_scheme: str = "light") -> Watched:
        context = browser.new_context(viewport=viewport, color_scheme=color_scheme)
        contexts.append(context)
        watched = Watched(context.new_page())

        def on_console(message: Any) -> None:
            if message.type == "error" and not _expected_failure(watched, message):
                watched.problems.append(f"console: {message.text} at {message.location}")

        def on_response(response: Any) -> None:
            if response.status >= 400 and response.url not in watched.expected:
                watched.problems.append(f"{response.status} {response.url}")

        watched.page.on("console", on_console)
        watched.page.on("pageerror", lambda error: watched.problems.append(f"script: {error}"))
        watched.page.on("requestfailed", lambda request: watched.problems.append(
            f"failed: {request.url} {request.failure}"))
        watched.page.on("response", on_response)
        watched.page.on("dialog", lambda dialog: watched.problems.append(
            f"dialog: {dialog.message}"))
        return watched

    yield open_page
    for context in contexts:
        context.close()


def _expected_failure(watched: Watched, message: Any) -> bool:
    """Chromium logs a deliberate 4xx page load as a console error; only those are excused."""
    url = (message.location or {}).get("url", "")
    return message.text.startswith("Failed to load resource") and url in watched.expected


# -- every page, four ways ---------------------------------------------------------------------

@pytest.mark.parametrize(("viewport", "scheme"), LOOKS)
def test_every_page_renders_cleanly(watch, demo, viewport, scheme):
    """No console error, failed request or stray 4xx; styled; no horizontal scroll on a phone."""
    url, _ = demo
    watched = watch(viewport, scheme)
    for path, status in PAGES.items():
        watched.goto(url + path, status)
        page = watched.page
        assert page.locator('meta[name="viewport"]').count() == 1, path
        assert page.locator('link[rel="stylesheet"]').count() >= 1, path
        # The stylesheet applied (its header rule), and dark mode follows the system.
        assert page.evaluate("getComputedStyle(document.body).maxWidth") != "none", path
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        dark = background not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")
        assert dark == (scheme == "dark"), (path, background)
        watched.no_horizontal_scroll()
    watched.check()


def test_every_link_on_the_home_page_resolves_when_clicked(watch, demo):
    url, _ = demo
    watched = watch()
    watched.goto(url + "/")
    hrefs = watched.page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    assert len(hrefs) >= 10
    for href in dict.fromkeys(hrefs):
        assert urlsplit(href).netloc == urlsplit(url).netloc, href  # nothing off-site
        if fragment := urlsplit(href).fragment:  # the course map's links to its sections
            watched.goto(url + "/")
            assert watched.page.locator(f"#{fragment}").count() == 1, href
            continue
        if _is_page(href):
            watched.goto(url + "/")
            link = watched.page.locator(f'a[href="{_relative(href, url)}"]').first
            with watched.page.expect_navigation() as navigation:
                link.click()
            response = navigation.value
            assert response is not None and response.status == 200, href
        else:  # a feed, a stylesheet, a capture: the browser would download or show it raw
            response = watched.page.request.get(href)
            assert response.status == 200, href
    watched.check()


def _is_page(href: str) -> bool:
    last = urlsplit(href).path.rsplit("/", 1)[-1]
    return last == "" or "." not in last or last.endswith(".html")


def _relative(href: str, base: str) -> str:
    """The href as written on the home page (relative to the site's root)."""
    relative = href[len(base) + 1:]
    return relative or "./"


# -- flows ---------------------------------------------------------------------------------------

def test_the_subscribe_form_escapes_what_was_typed(watch, demo):
    url, _ = demo
    watched = watch(PHONE)
    watched.goto(url + "/subscribe.html")
    name, email = "<script>alert(1)</script>Ann", '"><img src=x onerror=alert(2)>@example.com'
    watched.page.fill('input[name="name"]', name)
    watched.page.fill('input[name="email"]', email)
    with watched.page.expect_navigation() as navigation:
        watched.page.locator('input[type="submit"]').click()
    assert navigation.value.status == 200
    text = watched.page.inner_text("main")
    assert f"Hello {name}, your email is {email}" in text  # shown as text, never run
    assert watched.page.locator("main script, main img").count() == 0
    watched.no_horizontal_scroll()
    watched.check()


def test_an_upload_shows_the_sha256_of_the_file(watch, demo, tmp_path: Path):
    url, _ = demo
    data = bytes(range(256)) * 1000
    upload = tmp_path / "some file <x>.bin"
    upload.write_bytes(data)
    watched = watch(PHONE)
    watched.goto(url + "/upload")
    watched.page.set_input_files('input[type="file"]', str(upload))
    with watched.page.expect_navigation() as navigation:
        watched.page.locator('input[type="submit"]').click()
    assert navigation.value.status == 200
    cells = watched.page.locator("tbody td").all_inner_texts()
    assert cells == [upload.name, str(len(data)), hashlib.sha256(data).hexdigest()]
    watched.no_horizontal_scroll()  # a 64-character digest still fits a phone
    watched.check()


def test_mail_sent_with_the_cli_shows_in_the_inbox(watch, demo):
    url, catcher = demo
    watched = watch()
    watched.goto(url + "/mail/")
    [command] = [line for line in watched.page.locator("pre").all_inner_texts()
                 for line in line.splitlines() if line.startswith("wirekit mail send")]
    catcher.clear()
    subprocess.run([sys.executable, "-m", "wirekit", *shlex.split(command)[1:]],
                   capture_output=True, timeout=30, check=True)
    [caught] = catcher.messages
    watched.goto(url + "/mail/")
    message = watched.page.locator(f'a[href="{caught.key}"]')
    assert message.count() == 1
    with watched.page.expect_navigation() as navigation:
        message.click()
    assert navigation.value.status == 200
    assert "you@example.org" in watched.page.inner_text("main")
    watched.check()


def test_a_404_page_links_back_home(watch, demo):
    url, _ = demo
    watched = watch(PHONE, "dark")
    watched.goto(url + "/files/deep/down/gone.txt", 404)
    assert "404" in watched.page.inner_text("h1")
    with watched.page.expect_navigation() as navigation:
        watched.page.get_by_role("link", name="Back to the home page").click()
    assert navigation.value.status == 200 and watched.page.url == url + "/"
    watched.check()


# -- the login and RPC pages ---------------------------------------------------------------------

def test_login_opens_the_private_page_with_the_name(watch, demo):
    url, _ = demo
    watched = watch()
    watched.goto(url + "/private", 403)
    watched.goto(url + "/login")
    watched.page.fill('input[name="username"]', "guido")
    watched.page.fill('input[name="password"]', "python")
    with watched.page.expect_navigation():
        watched.page.locator('input[type="submit"]').click()
    assert urlsplit(watched.page.url).path == "/private"
    assert "guido" in watched.page.inner_text("main")
    watched.check()


def test_the_rpc_page_adds_with_json_rpc(watch, demo):
    url, _ = demo
    watched = watch(PHONE)
    watched.goto(url + "/rpc.html")
    watched.page.select_option("#rpc-method", "add")
    watched.page.fill("#rpc-a", "3")
    watched.page.fill("#rpc-b", "39")
    watched.page.locator('input[type="submit"]').click()
    answer = watched.page.locator("#rpc-answer")
    sync_api.expect(answer).to_have_text("42")
    assert '"method":"add"' in watched.page.inner_text("#rpc-request")
    assert urljoin(url + "/", "rpc.html") == watched.page.url  # no form navigation
    watched.check()
