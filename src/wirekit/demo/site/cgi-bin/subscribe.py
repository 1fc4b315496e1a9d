#!/usr/bin/env python3
"""The course's subscribe script (slides 4-24..4-32), run as CGI by the wirekit demo.

The server runs this file as a new process for every request: the request arrives in
environment variables (``REQUEST_METHOD``, ``QUERY_STRING``, ``CONTENT_TYPE``,
``CONTENT_LENGTH``...) and on standard input, and whatever the script prints (headers, a blank
line, the page) is the response. The course read the form with ``cgi.FieldStorage()``, which
Python 3.13 removed; ``parse_cgi_form()`` is the drop-in replacement, with size limits.

Everything the visitor typed is HTML-escaped before it goes into the page.
"""

from __future__ import annotations

import html
import sys

from wirekit.http.forms import FormError, parse_cgi_form
from wirekit.proto.http import reason_phrase

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - wirekit demo</title>
<link rel="icon" href="../favicon.ico">
<link rel="stylesheet" href="../style.css">
</head>
<body>
<header><a href="../">wirekit demo</a></header>
<main>
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"""


def respond(status: str, title: str, body: str) -> None:
    """Print a CGI response: ``Status`` sets the HTTP status (slide 4-32), then the page."""
    out = sys.stdout.buffer  # bytes: the page is UTF-8 whatever the locale of the server
    out.write(f"Status: {status}\n".encode())
    out.write(b"Content-Type: text/html; charset=utf-8\n")
    out.write(b"\n")  # the blank line ends the headers
    out.write(PAGE.format(title=html.escape(title), body=body).encode("utf-8"))
    out.flush()


def main() -> None:
    try:
        form = parse_cgi_form()
    except FormError as error:
        respond(f"{error.status} {reason_phrase(error.status)}", "Cannot read the form",
                f"<p>{html.escape(str(error))}</p>")
        return
    name = form.getfirst("name", "").strip()
    email = form.getfirst("email", "").strip()
    if not name or not email:
        respond("400 Bad Request", "Please fill in the form",
                '<p>Both a name and an email address are needed. '
                '<a href="../subscribe.html">Back to the form</a></p>')
        return
    # ... do some kind of processing (the course's comment: a real site would store it) ...
    respond("200 OK", "Success!",
            f"<p>Hello {html.escape(name)}, your email is {html.escape(email)}</p>\n"
            '<p>Nothing was stored: this is a demo. '
            '<a href="../subscribe.html">Subscribe someone else</a></p>')


if __name__ == "__main__":
    main()
