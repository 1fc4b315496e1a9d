"""Static page generation (slides 4-14..4-17): a folder of page templates in, a site out.

    from wirekit.web import build

    report = build("site", "public")      # then: wirekit serve public
    print(report.summary())               # 3 pages rendered, 2 files copied, 0 unchanged

Pages are the ``.html`` files of the source folder, in the course's ``string.Template``
syntax (``$name``, ``${name}``, ``$$``), wrapped in ``_layout.html`` (the course's
``template.html`` with ``$content``), with variables from ``page.json`` and ``_data.json``
and table rows from ``page.csv``, read with :mod:`wirekit.data`. Values are HTML-escaped
unless their name ends in ``_html``. Every other file is copied. See ``docs/build.md``.

Errors: :class:`BuildError`, and by cause :class:`TemplateError` (a template or its data;
names the file, the line and the variable) and :class:`OutputError` (OUT cannot be written).
"""

from wirekit.web.errors import BuildError, OutputError, TemplateError
from wirekit.web.generate import BuildReport, build

__all__ = ["BuildError", "BuildReport", "OutputError", "TemplateError", "build"]
