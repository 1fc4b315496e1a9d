"""The demo's generated pages: one HTML skeleton, every inserted value escaped.

The static pages of the site (``site/*.html``) and the pages built here share the stylesheet
and the header, so the demo looks like one site whichever part of wirekit answered.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

__all__ = ["escape", "html_page", "send_page"]

escape = html.escape


def html_page(title: str, body: str, *, base: str = "") -> bytes:
    """A complete page; ``title`` is text (escaped here), ``body`` is HTML already escaped.

    ``base`` is the relative path back to the site root (``""`` or ``"../"``), so the page
    works wherever the demo is mounted.
    """
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} - wirekit demo</title>\n"
        f'<link rel="stylesheet" href="{base}style.css">\n'
        f'<link rel="icon" href="{base}favicon.ico">\n</head>\n<body>\n'
        f'<header><a href="{base or "./"}">wirekit demo</a></header>\n<main>\n'
        f"<h1>{escape(title)}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    ).encode()


def send_page(start_response: Callable[..., Any], status: str, page: bytes,
              extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    """Start an HTML response for ``page`` with its length and the usual safety headers."""
    start_response(status, [("Content-Type", "text/html; charset=utf-8"),
                            ("Content-Length", str(len(page))),
                            ("X-Content-Type-Options", "nosniff"),
                            *(extra or [])])
    return [page]
