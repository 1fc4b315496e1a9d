"""Forms: the replacement for ``cgi.FieldStorage`` (removed in Python 3.13), for WSGI and CGI.

Query strings, ``application/x-www-form-urlencoded`` and ``multipart/form-data`` bodies are
parsed as they stream in (python-multipart underneath), uploads are spooled to disk past a
threshold, and every size and count is bounded by :class:`FormLimits`::

    form = parse_form(environ)              # in a WSGI application
    form = parse_cgi_form()                 # in a CGI script, like cgi.FieldStorage()
    name = form.getvalue("name", "")
    for upload in form.files:
        upload.save(f"/srv/uploads/{upload.safe_filename}")

See ``docs/forms.md``.
"""

from wirekit.http.forms.fields import FormData, FormField
from wirekit.http.forms.limits import DEFAULT_FORM_LIMITS, FormError, FormLimits, FormTooLarge
from wirekit.http.forms.sources import parse_cgi_form, parse_form
from wirekit.http.forms.urlencoded import parse_query

__all__ = [
    "DEFAULT_FORM_LIMITS",
    "FormData",
    "FormError",
    "FormField",
    "FormLimits",
    "FormTooLarge",
    "parse_cgi_form",
    "parse_form",
    "parse_query",
]

