"""Errors of the data column, grafted onto wirekit's one exception tree.

Data that comes off the network is the peer's bytes, so a document that breaks its format is a
:class:`~wirekit.errors.RemoteProtocolError`; it is also a :class:`ValueError`, the category
``json.loads`` and ``csv`` callers already catch. XML features refused for safety get one named
class each, so a test (or a log line) says which attack was stopped::

    RemoteProtocolError, ValueError
    └── ParseError                          malformed CSV, HTML, XML or JSON
        └── XMLForbidden                    an XML feature refused by the XMLPolicy
            ├── DTDForbidden                any DOCTYPE, when the policy forbids DTDs
            ├── EntitiesForbidden           an <!ENTITY> declaration (billion laughs, quadratic)
            │   └── ParameterEntitiesForbidden   <!ENTITY % name ...>
            └── ExternalReferenceForbidden  an entity with a SYSTEM/PUBLIC id (XXE)
                └── ExternalDTDForbidden    <!DOCTYPE x SYSTEM "..."> (external DTD)

Size and depth bounds raise :class:`~wirekit.errors.MessageTooLarge` or
:class:`~wirekit.errors.LimitExceeded` with ``limit`` naming the setting to raise.
"""

from __future__ import annotations

from wirekit.errors import RemoteProtocolError

__all__ = [
    "DTDForbidden",
    "EntitiesForbidden",
    "ExternalDTDForbidden",
    "ExternalReferenceForbidden",
    "ParameterEntitiesForbidden",
    "ParseError",
    "XMLForbidden",
]


class ParseError(RemoteProtocolError, ValueError):
    """A document that breaks the rules of its format.

    ``line`` and ``column`` locate the problem when the parser knows (1-based line, 0-based
    column, as expat and ``json`` report them).
    """

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None
                 ) -> None:
        if line is not None:
            message = f"{message} (line {line}" + (f", column {column})" if column is not None
                                                  else ")")
        super().__init__(message)
        self.line = line
        self.column = column

    def __reduce__(self):  # keep it picklable: the constructor takes keywords
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[ParseError], args: tuple[object, ...], state: dict[str, object]
             ) -> ParseError:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


def raised_in(exc: BaseException, *modules: str) -> bool:
    """True if the innermost frame of ``exc``'s traceback runs in one of ``modules``.

    Tells a standard-library parser's own failure (a ``ValueError`` from ``html.unescape``,
    a ``LookupError`` from expat's encoding lookup) from the same exception class raised by a
    handler the caller wrote: only the first is the document's fault and becomes a ParseError.
    """
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_globals.get("__name__") in modules


class XMLForbidden(ParseError):
    """The document uses an XML feature that the active ``XMLPolicy`` refuses.

    ``name`` is the entity or document type involved; ``sysid`` and ``pubid`` the external
    identifiers it carried, if any. Nothing was fetched and nothing was expanded.
    """

    def __init__(self, message: str, *, name: str | None = None, sysid: str | None = None,
                 pubid: str | None = None, line: int | None = None) -> None:
        super().__init__(message, line=line)
        self.name = name
        self.sysid = sysid
        self.pubid = pubid


class DTDForbidden(XMLForbidden):
    """A ``<!DOCTYPE>`` when the policy says ``forbid_dtd=True``."""


class EntitiesForbidden(XMLForbidden):
    """An ``<!ENTITY>`` declaration: the root of billion-laughs and quadratic-blowup attacks."""


class ParameterEntitiesForbidden(EntitiesForbidden):
    """A parameter entity (``<!ENTITY % name ...>``), used to smuggle DTDs in or data out."""


class ExternalReferenceForbidden(XMLForbidden):
    """An entity with a SYSTEM or PUBLIC identifier (XXE): a file or URL the parser would read."""


class ExternalDTDForbidden(ExternalReferenceForbidden):
    """A document type that names an external DTD to fetch."""
