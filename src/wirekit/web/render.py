"""Fill one template: the course's ``string.Template`` syntax, HTML-escaped, errors with a line.

The syntax is exactly :class:`string.Template`'s (slide 4-16), whose own pattern is used here:
``$name`` and ``${name}`` insert a variable (a name is ASCII letters, digits and ``_``, not
starting with a digit), ``$$`` is a literal ``$``. Anything else after a ``$`` is an error, as
it is for ``Template.substitute``.

Two things differ from ``substitute``, and both are why this loop exists instead of a call:

* **Escaping.** A value goes into HTML, so it is escaped (``html.escape``: ``& < > " '``),
  which makes it safe in text and in quoted attributes alike. Only an :class:`HTML` value is
  inserted as it is: the build makes one for a variable whose name ends in ``_html`` (Rails'
  convention for translations holding markup) and for the HTML it produces itself (``$content``,
  ``$rows``). Trust is thus visible in the template: ``$intro_html`` says "raw" where it is used.
* **Where.** ``substitute`` raises a bare ``KeyError('title')``; this names the file, the line
  and the variable, and says where the value could have come from.

Values are JSON's and CSV's: text, numbers, ``true``/``false`` (spelled as JSON spells them),
``null`` (nothing). A list or an object is not text, so using one is an error.
"""

from __future__ import annotations

import html
import string
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

from wirekit.web.errors import TemplateError

__all__ = ["HTML", "Hint", "render", "text_of"]

#: string.Template's own compiled pattern: groups escaped, named, braced, invalid.
PATTERN: Final = string.Template.pattern


class HTML(str):
    """Text that is already HTML: inserted without escaping. Only the build makes these."""

    __slots__ = ()


def text_of(value: object) -> str:
    """``value`` as the text to insert, escaped unless it is :class:`HTML`.

    Raises ``TypeError`` for a list or an object; :func:`render` says where it was used.
    """
    if isinstance(value, HTML):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: True is an int
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return html.escape(str(value))
    raise TypeError(type(value).__name__)


def _invalid(text: str, start: int) -> str:
    after = text[start + 1:start + 2]
    shown = "the end of the file" if not after else repr(after)
    if after == "{":
        return "'${' without a valid name and '}'; write $$ for a dollar sign"
    return f"'$' followed by {shown} starts no variable name; write $$ for a dollar sign"


Hint = Callable[[str], str]


def render(text: str, variables: Mapping[str, object], *, path: Path | str,
           hint: Hint | None = None) -> str:
    """``text`` with every ``$name``/``${name}`` replaced from ``variables`` (see the module).

    ``path`` names the template in errors; ``hint(name)`` says where a missing value could
    have been set ("set it in index.json or _data.json").
    """
    parts: list[str] = []
    last = 0
    line = 1
    for match in PATTERN.finditer(text):
        start = match.start()
        line += text.count("\n", last, start)
        parts.append(text[last:start])
        last = match.end()
        if match.group("escaped") is not None:
            parts.append("$")
            continue
        name = match.group("named") or match.group("braced")
        if name is None:
            raise TemplateError(_invalid(text, start), path=path, line=line)
        parts.append(_value(name, variables, path, line, hint))
    parts.append(text[last:])
    return "".join(parts)


def _value(name: str, variables: Mapping[str, object], path: Path | str, line: int,
           hint: Hint | None) -> str:
    if name not in variables:
        told = hint(name) if hint is not None else ""
        message = f"no value for ${name}" + (f" ({told})" if told else "")
        raise TemplateError(message, path=path, line=line, name=name)
    try:
        return text_of(variables[name])
    except TypeError as exc:
        raise TemplateError(f"${name} is a {_kind(str(exc))}, not text", path=path,
                            line=line, name=name) from None


def _kind(type_name: str) -> str:
    return {"list": "list", "dict": "JSON object"}.get(type_name, type_name)
