"""The demo's file upload: a WSGI application that reads a multipart form and fingerprints it.

``GET /upload`` shows the form; ``POST /upload`` parses it with
:func:`wirekit.http.forms.parse_form` (streamed; files above a threshold spool to an
anonymous temporary file) and answers each file's name, size and SHA-256, so a user can check
the bytes arrived intact (``sha256sum`` on their side). Nothing is kept: the form is closed
before the answer is sent, which deletes the temporary files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import IO, Any

from wirekit.demo.pages import escape, html_page, send_page
from wirekit.http.forms import FormError, FormField, parse_form
from wirekit.proto.http import reason_phrase

__all__ = ["MAX_UPLOAD", "upload_app"]

#: Largest request body the demo accepts (the whole form, all files together).
MAX_UPLOAD = 64 * 1024 * 1024

_FORM = """<p>Choose one or more files. The server reads them, reports their size and SHA-256,
and forgets them: nothing is stored.</p>
<form action="upload" method="POST" enctype="multipart/form-data">
<p><label>File: <input type="file" name="file" multiple></label></p>
<p><input type="submit" value="Upload"></p>
</form>
<p>From a terminal: <code>curl -F file=@somefile http://127.0.0.1:8000/upload</code>,
then compare with <code>sha256sum somefile</code>.</p>"""


def _sha256(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while block := stream.read(1024 * 1024):
        digest.update(block)
    return digest.hexdigest()


def _describe(uploads: list[FormField]) -> str:
    rows = []
    for upload in uploads:
        name = upload.filename or "(no name)"
        rows.append(f"<tr><td>{escape(name)}</td><td>{upload.size}</td>"
                    f"<td><code>{_sha256(upload.file)}</code></td></tr>")
    if not rows:
        return '<p>No file was chosen.</p>\n<p><a href="upload">Try again</a></p>'
    return ("<table>\n<thead><tr><th>File</th><th>Bytes</th><th>SHA-256</th></tr></thead>\n"
            "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n"
            '<p>Nothing was kept. <a href="upload">Upload another</a></p>')


def upload_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """``GET``: the upload form; ``POST``: name, size and SHA-256 of every uploaded file."""
    method = environ.get("REQUEST_METHOD", "GET")
    if method in ("GET", "HEAD"):
        body = send_page(start_response, "200 OK", html_page("Upload a file", _FORM))
        return [] if method == "HEAD" else body
    if method != "POST":
        page = html_page("Method not allowed", "<p>Use GET or POST.</p>")
        return send_page(start_response, "405 Method Not Allowed", page,
                         [("Allow", "GET, HEAD, POST")])
    try:
        with parse_form(environ, max_body=MAX_UPLOAD) as form:
            uploads = [field for field in form.files
                       if field.filename or field.size]  # an empty file input sends filename=""
            page = html_page("Upload received", _describe(uploads))
    except FormError as error:
        if error.status == 413:
            text = (f"<p>This demo takes uploads of up to {MAX_UPLOAD >> 20} MiB in all "
                    "(the form's limit: <code>parse_form(environ, max_body=...)</code>); "
                    "this one is larger.</p>")
        else:
            text = f"<p>{escape(str(error))}</p>"
        page = html_page("Upload refused", text + '<p><a href="upload">Try again</a></p>')
        return send_page(start_response, f"{error.status} {reason_phrase(error.status)}", page)
    return send_page(start_response, "200 OK", page)
