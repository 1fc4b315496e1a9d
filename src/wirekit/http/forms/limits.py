"""``FormLimits`` and the two errors a form can end in: bad syntax (400) or too big (413/414).

``cgi.FieldStorage`` had no limit but ``max_num_fields`` (off by default), so a single POST
could fill a server's memory or disk. Every bound here has a default that a real HTML form
never reaches, and each one fails with the status a client should see (SECURITY.md P03).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from wirekit.errors import ConfigError, MessageTooLarge, RemoteProtocolError

__all__ = ["DEFAULT_FORM_LIMITS", "FormError", "FormLimits", "FormTooLarge"]

KiB = 1024
MiB = 1024 * KiB


class FormError(RemoteProtocolError):
    """A form body or query string that cannot be parsed; ``status`` is 400 (or 411)."""


class FormTooLarge(FormError, MessageTooLarge):
    """A form went past one of its :class:`FormLimits`; ``limit`` names which one.

    It is both a :class:`FormError` (so one ``except FormError`` handles every bad form) and a
    :class:`~wirekit.errors.MessageTooLarge`. ``status`` is 413, or 414 for the query string.
    """

    status = 413

    def __init__(self, message: str, limit: str, status: int = 413) -> None:
        FormError.__init__(self, message, status)
        self.limit = limit


@dataclass(frozen=True, slots=True)
class FormLimits:
    """Upper bounds for one parsed form; derive variants with ``dataclasses.replace``."""

    # Name/value pairs from the query and the body, multipart parts included. Werkzeug's
    # max_form_parts and Starlette's max_fields are both 1000; a page with more inputs is rare.
    max_fields: int = 1000
    # One non-file value, held in memory: 1 MiB (Starlette max_part_size).
    max_field_size: int = 1 * MiB
    # Every non-file value together, query string included: 10 MiB, the same as
    # ``wirekit.config.Limits.max_body`` for bodies read into memory.
    max_memory: int = 10 * MiB
    # The whole request body, uploads included. Files stream to disk, so this bounds disk use,
    # not memory; raise it for a site that takes large uploads.
    max_body: int = 64 * MiB
    # Uploaded files in one form (each is a temporary file, so this also bounds open fds).
    max_files: int = 100
    # The query string: 64 KiB. Linux refuses an environment string over 128 KiB, so a CGI
    # script could never receive much more anyway; the answer is 414 URI Too Long.
    max_query: int = 64 * KiB
    # The header block of one multipart part (Content-Disposition, Content-Type, ...).
    max_part_header: int = 8 * KiB
    # An upload stays in memory up to this size, then moves to an anonymous temporary file.
    spool_threshold: int = 1 * MiB

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"FormLimits.{field.name} must be an int > 0, got {value!r}")


DEFAULT_FORM_LIMITS = FormLimits()


class FormBudget:
    """What one form has used so far, checked against its :class:`FormLimits` as bytes arrive.

    The query string and the body share one budget, so splitting 2000 fields between them
    does not get past ``max_fields``.
    """

    __slots__ = ("fields", "files", "limits", "memory")

    def __init__(self, limits: FormLimits) -> None:
        self.limits = limits
        self.fields = 0
        self.files = 0
        self.memory = 0

    def add_field(self) -> None:
        self.fields += 1
        if self.fields > self.limits.max_fields:
            raise FormTooLarge(f"more than {self.limits.max_fields} form fields", "max_fields")

    def add_file(self) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise FormTooLarge(f"more than {self.limits.max_files} uploaded files", "max_files")

    def add_memory(self, size: int, field_size: int) -> None:
        """Account ``size`` more bytes of a value held in memory, now ``field_size`` long."""
        self.memory += size
        if field_size > self.limits.max_field_size:
            raise FormTooLarge(
                f"a form field is larger than {self.limits.max_field_size} bytes",
                "max_field_size")
        if self.memory > self.limits.max_memory:
            raise FormTooLarge(
                f"form fields take more than {self.limits.max_memory} bytes", "max_memory")
