"""The demo's login: a form, a session cookie, and a page that needs it (slide 2-25).

Slide 2-25 logs in with ``urllib`` and an ``HTTPCookieProcessor``; this is the server side of
that exchange, so ``wirekit post --cookies jar.txt`` and ``wirekit.http.client.Session`` have
something to log in to::

    GET  /login      the form (the demo user and password are printed on it)
    POST /login      right: 303 to ``private`` with ``Set-Cookie: session=...``; wrong: 401
    GET  /private    200 with the user's name when the session cookie is valid, else 403
    /logout          forgets the session, expires the cookie, 303 to ``login``

The session id is ``secrets.token_urlsafe`` (unguessable), sent ``HttpOnly`` (no script reads
it) and ``SameSite=Lax`` (no cross-site POST carries it), RFC 6265 §4.1.2. Sessions live in
memory, the newest :data:`MAX_SESSIONS` only, so a flood of logins cannot grow the server.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from http.cookies import CookieError, SimpleCookie
from typing import Any

from wirekit.demo.pages import escape, html_page, send_page
from wirekit.http.forms import FormError, parse_form
from wirekit.proto.http import reason_phrase

__all__ = ["DEMO_PASSWORD", "DEMO_USER", "MAX_SESSIONS", "LoginApps", "Sessions", "login_apps"]

DEMO_USER = "guido"
DEMO_PASSWORD = "python"  # noqa: S105  # printed on the page: a demo, not a secret
#: Sessions kept (the newest); an older one is forgotten and its cookie stops working.
MAX_SESSIONS = 1000
COOKIE = "session"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_FORM = f"""<p>Log in as <code>{DEMO_USER}</code> with the password <code>{DEMO_PASSWORD}</code>
(the only user: this is a demo). The server answers with a session cookie and sends you to the
<a href="private">private page</a>, which is refused without it.</p>
<form action="login" method="POST">
<p><label>User name: <input name="username" autocomplete="username" required></label></p>
<p><label>Password: <input type="password" name="password" autocomplete="current-password"
required></label></p>
<p><input type="submit" value="Log in"></p>
</form>"""


class Sessions:
    """Session id -> user name, the newest ``limit`` only; safe across server threads."""

    def __init__(self, limit: int = MAX_SESSIONS) -> None:
        self.limit = limit
        self._users: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, user: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._users[token] = user
            while len(self._users) > self.limit:
                self._users.popitem(last=False)
        return token

    def user(self, token: str | None) -> str | None:
        if not token:
            return None
        with self._lock:
            return self._users.get(token)

    def forget(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._users.pop(token, None)

    def __len__(self) -> int:
        return len(self._users)


def _session_token(environ: dict[str, Any]) -> str | None:
    try:
        morsel = SimpleCookie(str(environ.get("HTTP_COOKIE", ""))).get(COOKIE)
    except CookieError:
        return None
    return morsel.value if morsel is not None else None


def _redirect(start_response: Callable[..., Any], location: str,
              cookie: str) -> list[bytes]:
    start_response("303 See Other", [("Location", location), ("Set-Cookie", cookie),
                                     ("Content-Length", "0"), ("Cache-Control", "no-store")])
    return []


def _refuse(start_response: Callable[..., Any], status: int, title: str,
            text: str) -> list[bytes]:
    page = html_page(title, text)
    return send_page(start_response, f"{status} {reason_phrase(status)}", page,
                     [("Cache-Control", "no-store")])


class LoginApps:
    """The three applications sharing one :class:`Sessions` store."""

    def __init__(self, sessions: Sessions | None = None) -> None:
        self.sessions = sessions if sessions is not None else Sessions()

    def login(self, environ: dict[str, Any], start_response: Callable[..., Any]
              ) -> Iterable[bytes]:
        """``GET``: the form; ``POST``: check the credentials and start a session."""
        method = environ.get("REQUEST_METHOD", "GET")
        if method in ("GET", "HEAD"):
            body = send_page(start_response, "200 OK", html_page("Log in", _FORM))
            return [] if method == "HEAD" else body
        if method != "POST":
            page = html_page("Method not allowed", '<p>Use GET or POST. <a href="login">'
                             "Log in</a></p>")
            return send_page(start_response, "405 Method Not Allowed", page,
                             [("Allow", "GET, HEAD, POST")])
        try:
            with parse_form(environ) as form:
                user = str(form.getvalue("username", ""))
                password = str(form.getvalue("password", ""))
        except FormError as error:
            return _refuse(start_response, error.status, "Login refused",
                           f'<p>{escape(str(error))}</p>\n<p><a href="login">Try again</a></p>')
        right = (hmac.compare_digest(user.encode(), DEMO_USER.encode())
                 & hmac.compare_digest(password.encode(), DEMO_PASSWORD.encode()))
        if not right:
            return _refuse(start_response, 401, "Wrong user name or password",
                           "<p>That user name and password do not match. The demo user is "
                           f"<code>{DEMO_USER}</code>, password <code>{DEMO_PASSWORD}</code>."
                           '</p>\n<p><a href="login">Try again</a></p>')
        token = self.sessions.create(user)
        return _redirect(start_response, "private",
                         f"{COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/")

    def private(self, environ: dict[str, Any], start_response: Callable[..., Any]
                ) -> Iterable[bytes]:
        """The user's page with a valid session cookie; 403 and a way to log in without."""
        user = self.sessions.user(_session_token(environ))
        if user is None:
            body = _refuse(start_response, 403, "Private: log in first",
                           "<p>This page needs the session cookie that logging in sets; "
                           "this request had none, or one this server has forgotten.</p>\n"
                           '<p><a href="login">Log in</a></p>')
        else:
            page = html_page("Private", f"<p>Welcome, {escape(user)}. Your browser (or "
                             "cookie jar) sent the session cookie, so the server knows you."
                             '</p>\n<form action="logout" method="POST"><p>'
                             '<input type="submit" value="Log out"></p></form>')
            body = send_page(start_response, "200 OK", page, [("Cache-Control", "no-store")])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else body

    def logout(self, environ: dict[str, Any], start_response: Callable[..., Any]
               ) -> Iterable[bytes]:
        """Forget the session and expire the cookie (``Max-Age=0``), then back to the form."""
        self.sessions.forget(_session_token(environ))
        return _redirect(start_response, "login",
                         f"{COOKIE}=; Max-Age=0; HttpOnly; SameSite=Lax; Path=/")


def login_apps(sessions: Sessions | None = None) -> dict[str, WSGIApp]:
    """``{"/login": ..., "/private": ..., "/logout": ...}`` over one session store, to mount."""
    apps = LoginApps(sessions)
    return {"/login": apps.login, "/private": apps.private, "/logout": apps.logout}
