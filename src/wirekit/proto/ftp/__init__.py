"""FTP as a sans-IO core: the client side of the control connection (RFC 959), with AUTH TLS,
PBSZ and PROT (RFC 2228, RFC 4217), FEAT (RFC 2389), EPSV/EPRT (RFC 2428) and MLSD/MLST/SIZE/
MDTM/REST STREAM (RFC 3659); PASV/EPSV replies and PORT/EPRT arguments; MLSD and LIST
listings parsed into entries.

The replies are ``wirekit.proto.replies.Reply``, shared with SMTP, read in FTP's multi-line
form (RFC 959 §4.2). The shell that puts the core on sockets, with its data connections, is
``wirekit.ftp``.
"""

from wirekit.proto.ftp.client import ClientConnection, check_argument
from wirekit.proto.ftp.events import NEED_DATA, Answer, Close, Command, Wait
from wirekit.proto.ftp.listing import (
    MAX_LISTING_LINE,
    Entry,
    ListingParser,
    parse_list_line,
    parse_mlsd_line,
)
from wirekit.proto.ftp.state import DATA_SETUP, TRANSFERS, ClientState
from wirekit.proto.ftp.values import (
    format_eprt,
    format_port,
    parse_epsv,
    parse_features,
    parse_pasv,
    parse_pwd,
    parse_size,
    parse_time,
)

__all__ = [
    "DATA_SETUP",
    "MAX_LISTING_LINE",
    "NEED_DATA",
    "TRANSFERS",
    "Answer",
    "ClientConnection",
    "ClientState",
    "Close",
    "Command",
    "Entry",
    "ListingParser",
    "Wait",
    "check_argument",
    "format_eprt",
    "format_port",
    "parse_epsv",
    "parse_features",
    "parse_list_line",
    "parse_mlsd_line",
    "parse_pasv",
    "parse_pwd",
    "parse_size",
    "parse_time",
]
