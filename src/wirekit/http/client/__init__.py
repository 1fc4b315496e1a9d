"""The HTTP client: ``urlopen`` for modern Python, on the same HTTP/1.1 core as the server.

    from wirekit.http.client import Session, get, urlopen

    with urlopen("http://127.0.0.1:8000/") as response:   # the course's urllib, modernised
        print(response.status, response.headers["content-type"], response.read())

    with Session(auth=("user", "secret")) as session:      # pooled, cookies, auth, redirects
        session.post(url + "/login", data={"user": "ann", "password": "..."})
        print(session.get(url + "/private").text)

Timeouts are on by default, TLS is verified by default, 4xx/5xx raise ``HTTPError``, and
redirects never carry credentials to another origin. See ``docs/http-client.md``.
"""

from wirekit.errors import ConnectError, RemoteProtocolError, Timeout, TLSError
from wirekit.http.client.api import (
    delete,
    get,
    head,
    options,
    patch,
    post,
    put,
    request,
    urlopen,
)
from wirekit.http.client.auth import BasicAuth, DigestAuth
from wirekit.http.client.cookies import cookie_jar, save_jar
from wirekit.http.client.errors import (
    BodyTooLarge,
    ContentDecodingError,
    DecompressionLimitExceeded,
    HTTPError,
    InvalidRequest,
    InvalidURL,
    ProxyError,
    RedirectError,
    ResourceError,
    TooManyRedirects,
    UnsupportedScheme,
)
from wirekit.http.client.mock import MockRequest, MockTransport
from wirekit.http.client.pool import PoolTimeout
from wirekit.http.client.request import Request
from wirekit.http.client.response import Response
from wirekit.http.client.retries import Retry
from wirekit.http.client.session import Session

__all__ = [
    "BasicAuth",
    "BodyTooLarge",
    "ConnectError",
    "ContentDecodingError",
    "DecompressionLimitExceeded",
    "DigestAuth",
    "HTTPError",
    "InvalidRequest",
    "InvalidURL",
    "MockRequest",
    "MockTransport",
    "PoolTimeout",
    "ProxyError",
    "RedirectError",
    "RemoteProtocolError",
    "Request",
    "ResourceError",
    "Response",
    "Retry",
    "Session",
    "TLSError",
    "Timeout",
    "TooManyRedirects",
    "UnsupportedScheme",
    "cookie_jar",
    "delete",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "request",
    "save_jar",
    "urlopen",
]
