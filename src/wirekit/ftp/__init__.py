"""L3, FTP: list, download and upload, with FTPS, resume and progress (RFC 959 on the
``wirekit.proto.ftp`` core).

    from wirekit.ftp import Client

    with Client("127.0.0.1", 2121) as ftp:                 # anonymous, passive, binary
        for entry in ftp.list():
            print(entry.name, entry.type, entry.size, entry.modified)
        ftp.upload("report.pdf", "incoming/report.pdf", progress=print)

``FTPServer`` (``wirekit.ftp.server``) serves a directory with pyftpdlib, the optional
``wirekit[ftp-server]`` extra: for trying the client, and for tests (``wirekit.testing``).
"""

from wirekit.ftp.client import Client, Progress
from wirekit.ftp.errors import FTPRefused, TransferIncomplete
from wirekit.ftp.transfer import Transfer
from wirekit.proto.ftp import Entry

__all__ = ["Client", "Entry", "FTPRefused", "Progress", "Transfer", "TransferIncomplete"]
