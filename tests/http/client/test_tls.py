"""HTTPS against a trustme CA: verified by default, per-call opt-out not sticky (K06)."""

from __future__ import annotations

import ssl

import pytest

from wirekit.errors import ConnectionClosed, RemoteProtocolError
from wirekit.http.client import Session, TLSError, get, urlopen

from .apps import echo_app


def whoami(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ.get("SSL_CLIENT_SUBJECT", "anonymous").encode()]


def test_https_with_the_test_ca(tls_server, tls):
    url = tls_server(echo_app)
    with Session(verify=tls.ca_file) as session:
        answer = session.get(url + "/secure").json()
        assert answer["path"] == "/secure"
        assert session.get(url.replace("127.0.0.1", "localhost")).status == 200
    context = ssl.create_default_context(cafile=tls.ca_file)
    with urlopen(url, verify=context) as response:
        assert response.status == 200


def test_verification_is_on_by_default(tls_server):
    url = tls_server(echo_app)
    with pytest.raises(TLSError, match="certificate"):
        get(url)


def test_a_certificate_for_another_name_is_refused(tls_server, tls):
    url = tls_server(echo_app, cert=tls.ca.issue_cert("other.example.test"))
    with pytest.raises(TLSError, match=r"match|mismatch|hostname"):
        get(url, verify=tls.ca_file)


def test_verify_false_is_per_call_and_not_sticky(tls_server):
    # requests CVE-2024-35195: a connection opened with verify=False must not be reused by a
    # later verified call in the same session.
    url = tls_server(echo_app)
    with Session() as session:
        assert session.get(url, verify=False).status == 200
        with pytest.raises(TLSError):
            session.get(url)
        assert session.get(url, verify=False).status == 200


def test_client_certificates(tls_server, tls):
    url = tls_server(whoami, require_client_cert=True)
    with Session(verify=tls.ca_file, cert=tls.client_pem) as session:
        assert "test-client" in session.get(url).text
    with pytest.raises((TLSError, ConnectionClosed, RemoteProtocolError)):
        get(url, verify=tls.ca_file)
