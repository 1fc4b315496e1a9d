"""HTML forms as data: what a page asks for, and the request a browser would send back.

:class:`Form` holds what the scanner found (action resolved against the page URL, method,
encoding, fields with their default values). :meth:`Form.fill` merges your values over the
defaults the way a browser builds its "form data set" (HTML standard, "constructing the entry
list"), and :meth:`Form.submission` encodes it as method, URL, body and content type, ready
for any HTTP client.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

from wirekit.data.errors import ParseError
from wirekit.errors import ConfigError

__all__ = ["Field", "Form", "Option", "Submission"]

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
PLAIN = "text/plain"
# Controls never in the default entry list: buttons count only when they are the one pressed,
# a file input needs a file, and these never carry data.
BUTTONS = frozenset({"submit", "image", "button", "reset"})
NOT_SENT = frozenset({"file", "reset", "button"})

Values = Mapping[str, "str | Sequence[str]"]


@dataclass(frozen=True, slots=True)
class Option:
    """One ``<option>`` of a ``<select>``."""

    value: str
    label: str
    selected: bool = False
    disabled: bool = False


@dataclass(slots=True)
class Field:
    """One control: ``kind`` is the input type (``text``, ``checkbox``...), or ``select``,
    ``textarea`` or ``button``; ``value`` is its default (a checkbox's defaults to ``on``)."""

    name: str
    kind: str = "text"
    value: str = ""
    checked: bool = False
    disabled: bool = False
    multiple: bool = False
    options: list[Option] = field(default_factory=list)

    def defaults(self) -> list[str]:
        """Values this control contributes when the form is submitted untouched."""
        if self.disabled or not self.name or self.kind in BUTTONS | NOT_SENT:
            return []
        if self.kind in ("checkbox", "radio"):
            return [self.value] if self.checked else []
        if self.kind == "select":
            chosen = [o.value for o in self.options if o.selected and not o.disabled]
            if not chosen and not self.multiple:
                chosen = [o.value for o in self.options if not o.disabled][:1]
            return chosen if self.multiple else chosen[-1:]
        return [self.value]


@dataclass(frozen=True, slots=True)
class Submission:
    """An encoded form: send ``body`` (None for GET) to ``url`` with ``method``."""

    method: str
    url: str
    body: bytes | None = None
    content_type: str | None = None


@dataclass(slots=True)
class Form:
    """A ``<form>``: ``action`` is absolute (the page URL when the form names none)."""

    action: str
    method: str = "GET"
    enctype: str = URLENCODED
    name: str | None = None
    id: str | None = None
    fields: list[Field] = field(default_factory=list)

    def field(self, name: str) -> Field:
        """The first field called ``name``."""
        for found in self.fields:
            if found.name == name:
                return found
        raise ConfigError(f"form has no field {name!r}; it has {self.names()}")

    def names(self) -> list[str]:
        """Names of the form's fields, in order, once each."""
        return list(dict.fromkeys(f.name for f in self.fields if f.name))

    def fill(self, values: Values | None = None, *, submit: str | None = None
             ) -> list[tuple[str, str]]:
        """The entry list: defaults, with each name in ``values`` replaced by the value(s) given.

        ``submit`` names the button pressed (its value is sent, as a browser does). A name the
        form does not have is a ConfigError: a typo would otherwise go unnoticed.
        """
        given = dict(values or {})
        for name in [*given, *([submit] if submit else [])]:
            self.field(name)  # raises for an unknown name
        pairs: list[tuple[str, str]] = []
        for control in self.fields:
            name = control.name
            if name in given:  # the caller's value(s) replace every control of that name
                value = given.pop(name)
                pairs += [(name, v) for v in ([value] if isinstance(value, str) else value)]
            elif name in (values or {}):
                continue  # already placed from the caller's values
            elif control.kind in BUTTONS:
                if name and name == submit and not control.disabled:
                    pairs.append((name, control.value))
                    submit = None
            else:
                pairs += [(name, v) for v in control.defaults()]
        return pairs

    def submission(self, values: Values | None = None, *, submit: str | None = None
                   ) -> Submission:
        """Encode :meth:`fill`'s entry list for this form's method and encoding.

        An ``action`` the page wrote that is not a URL raises ParseError: there is nowhere to
        send the form."""
        pairs = self.fill(values, submit=submit)
        try:
            parts = urlsplit(self.action)
        except ValueError:  # the page's action is not a URL (http://[x]/): nowhere to send it
            raise ParseError(f"the form's action {self.action!r} is not a valid URL") from None
        if self.method == "GET":
            scheme, netloc, path, _, _ = parts
            return Submission("GET", urlunsplit((scheme, netloc, path, urlencode(pairs), "")))
        if self.enctype == MULTIPART:
            body, content_type = _multipart(pairs)
            return Submission("POST", self.action, body, content_type)
        if self.enctype == PLAIN:
            body = "".join(f"{n}={v}\r\n" for n, v in pairs).encode()
            return Submission("POST", self.action, body, f"{PLAIN}; charset=utf-8")
        return Submission("POST", self.action, urlencode(pairs).encode(), URLENCODED)


def _multipart(pairs: list[tuple[str, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body of text fields (RFC 7578), with a random boundary."""
    boundary = "wirekit-" + secrets.token_hex(16)
    parts = []
    for name, value in pairs:
        quoted = name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{quoted}"\r\n\r\n'
                     f"{value}\r\n")
    parts.append(f"--{boundary}--\r\n")
    return "".join(parts).encode(), f"{MULTIPART}; boundary={boundary}"
