"""The look of the pages wirekit generates: error pages and listings, in an application's style.

Every page wirekit writes itself (a directory listing, the error pages of ``StaticFiles``,
``Mount`` and ``CGIApp``) is a plain page by default. An application gives them its own look
with a :data:`PageRenderer` (the ``page=`` argument of the three), so its error pages and
listings carry its stylesheet, header and way back instead of looking like another site.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

from wirekit.proto.http import reason_phrase

__all__ = ["PageRenderer", "error_page", "relative_root"]

#: ``page(title, body_html, root) -> bytes``: a whole HTML page in an application's look.
#: ``title`` is plain text (the renderer escapes it), ``body_html`` is HTML already escaped,
#: and ``root`` is the relative URL of the application's root seen from the page (``"./"``,
#: ``"../"``...), so its stylesheet and links resolve wherever the application is mounted.
PageRenderer = Callable[[str, str, str], bytes]

# What went wrong, in words, for each status a generated page may carry. Fixed text only:
# nothing from the request is reflected.
_EXPLAIN = {
    301: "This page has moved; your browser should follow it.",
    400: "The request could not be understood.",
    403: "This server may not show that.",
    404: "There is nothing at this address: it may be mistyped, or the page is gone.",
    405: "This address does not answer that method.",
    411: "The request has a body but no Content-Length.",
    412: "A condition of the request (If-Match, If-Unmodified-Since) did not hold.",
    413: "The request body is larger than this server accepts.",
    416: "The requested range is outside the file.",
    500: "Something went wrong on the server; the details are in its log.",
    502: "The program behind this address gave no valid answer; the details are in the log.",
    504: "The program behind this address took too long to answer.",
}

def relative_root(environ: Mapping[str, Any]) -> str:
    """The application's root relative to the requested URL: ``./`` for ``/x``, ``../`` for
    ``/a/x`` or ``/a/`` (relative, so a page works under any ``SCRIPT_NAME``)."""
    depth = str(environ.get("PATH_INFO") or "/").count("/") - 1
    return "../" * depth if depth > 0 else "./"


def error_page(page: PageRenderer, status: int, root: str, detail: str | None = None) -> bytes:
    """The page for ``status`` in ``page``'s look: what went wrong and a link back to ``root``.

    ``detail`` (plain text, escaped here) adds the server's own words for the client's mistake.
    """
    reason = reason_phrase(status) or "Error"
    text = _EXPLAIN.get(status, "The server could not answer this request.")
    extra = f"<p>{html.escape(detail)}</p>\n" if detail else ""
    body = (f"<p>{text}</p>\n{extra}"
            f'<p><a href="{html.escape(root, quote=True)}">Back to the home page</a></p>')
    return page(f"{status} {reason}", body, root)
