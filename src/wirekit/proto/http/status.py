"""Status codes and their reason phrases, written as data.

The table is the IANA "HTTP Status Code Registry" as of RFC 9110 §15 plus the codes other RFCs
register (WebDAV, 103 Early Hints, 425, 429, 451, ...). A reason phrase carries no meaning on
the wire (RFC 9112 §4: "A client SHOULD ignore the reason-phrase content"), so an unknown code
simply gets an empty phrase.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

__all__ = ["REASON_PHRASES", "reason_phrase"]

REASON_PHRASES: Final = MappingProxyType(
    {
        # 1xx Informational (RFC 9110 §15.2, RFC 8297)
        100: "Continue",
        101: "Switching Protocols",
        102: "Processing",
        103: "Early Hints",
        # 2xx Successful (RFC 9110 §15.3, RFC 4918, RFC 5842, RFC 3229)
        200: "OK",
        201: "Created",
        202: "Accepted",
        203: "Non-Authoritative Information",
        204: "No Content",
        205: "Reset Content",
        206: "Partial Content",
        207: "Multi-Status",
        208: "Already Reported",
        226: "IM Used",
        # 3xx Redirection (RFC 9110 §15.4)
        300: "Multiple Choices",
        301: "Moved Permanently",
        302: "Found",
        303: "See Other",
        304: "Not Modified",
        305: "Use Proxy",
        307: "Temporary Redirect",
        308: "Permanent Redirect",
        # 4xx Client Error (RFC 9110 §15.5, RFC 6585, RFC 7725, RFC 8470)
        400: "Bad Request",
        401: "Unauthorized",
        402: "Payment Required",
        403: "Forbidden",
        404: "Not Found",
        405: "Method Not Allowed",
        406: "Not Acceptable",
        407: "Proxy Authentication Required",
        408: "Request Timeout",
        409: "Conflict",
        410: "Gone",
        411: "Length Required",
        412: "Precondition Failed",
        413: "Content Too Large",
        414: "URI Too Long",
        415: "Unsupported Media Type",
        416: "Range Not Satisfiable",
        417: "Expectation Failed",
        421: "Misdirected Request",
        422: "Unprocessable Content",
        423: "Locked",
        424: "Failed Dependency",
        425: "Too Early",
        426: "Upgrade Required",
        428: "Precondition Required",
        429: "Too Many Requests",
        431: "Request Header Fields Too Large",
        451: "Unavailable For Legal Reasons",
        # 5xx Server Error (RFC 9110 §15.6, RFC 2295, RFC 4918, RFC 5842, RFC 2774, RFC 6585)
        500: "Internal Server Error",
        501: "Not Implemented",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
        505: "HTTP Version Not Supported",
        506: "Variant Also Negotiates",
        507: "Insufficient Storage",
        508: "Loop Detected",
        510: "Not Extended",
        511: "Network Authentication Required",
    }
)


def reason_phrase(status_code: int) -> str:
    """Return the registered reason phrase for ``status_code``, or ``""`` when it has none."""
    return REASON_PHRASES.get(status_code, "")
