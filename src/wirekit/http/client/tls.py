"""TLS settings for HTTPS: verified by default, contexts built once and shared.

``verify`` is ``True`` (the system store, or certifi's bundle when the system has none),
``False`` (said out loud, and only for the call or session that says it), a CA file or
directory, or a ready ``SSLContext``. ``cert`` is a client certificate: a PEM file holding
both, or ``(certfile, keyfile)``. Building an ``SSLContext`` loads the trust store (about a
millisecond), so contexts are cached by their settings; the settings also go into the pool
key, so connections made under one setting never serve another (SECURITY.md K06).
"""

from __future__ import annotations

import os
import ssl
import threading
from typing import TypeAlias

from wirekit.config import TLSConfig
from wirekit.errors import ConfigError
from wirekit.net.tls import client_context

__all__ = ["CertArg", "TLSContexts", "VerifyArg", "tls_key"]

VerifyArg: TypeAlias = bool | str | os.PathLike | ssl.SSLContext
CertArg: TypeAlias = str | os.PathLike | tuple[str, str] | None


def tls_key(verify: VerifyArg, cert: CertArg) -> tuple:
    """A hashable identity for a TLS setting (an ``SSLContext`` by object identity)."""
    if isinstance(verify, ssl.SSLContext):
        return ("context", id(verify))
    if isinstance(verify, os.PathLike):
        verify = os.fspath(verify)
    if isinstance(cert, os.PathLike):
        cert = os.fspath(cert)
    return (verify, cert)


class TLSContexts:
    """``SSLContext`` objects by setting, built on first use."""

    def __init__(self) -> None:
        self._contexts: dict[tuple, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def get(self, verify: VerifyArg, cert: CertArg) -> ssl.SSLContext:
        if isinstance(verify, ssl.SSLContext):
            return verify
        key = tls_key(verify, cert)
        context = self._contexts.get(key)
        if context is None:
            context = _build(verify, cert)
            with self._lock:
                context = self._contexts.setdefault(key, context)
        return context


def _build(verify: VerifyArg, cert: CertArg) -> ssl.SSLContext:
    if isinstance(verify, os.PathLike):
        verify = os.fspath(verify)
    certfile = keyfile = None
    if isinstance(cert, tuple):
        certfile, keyfile = (os.fspath(p) for p in cert)
    elif cert is not None:
        certfile = os.fspath(cert)
    if isinstance(verify, str):
        if not os.path.exists(verify):
            raise ConfigError(f"verify={verify!r}: no such CA file or directory")
        cafile = None if os.path.isdir(verify) else verify
        config = TLSConfig(verify=True, cafile=cafile, certfile=certfile, keyfile=keyfile)
        context = client_context(config)
        assert context is not None
        if cafile is None:
            context.load_verify_locations(capath=verify)
    elif verify is True or verify is False:
        config = TLSConfig(verify=verify, certfile=certfile, keyfile=keyfile)
        context = client_context(config)
        assert context is not None
        if verify and not context.cert_store_stats().get("x509_ca"):
            _load_certifi(context)
    else:
        raise ConfigError(f"verify must be a bool, a CA path or an SSLContext, not {verify!r}")
    context.set_alpn_protocols(["http/1.1"])
    return context


def _load_certifi(context: ssl.SSLContext) -> None:
    """No CA in the system store (a slim container): fall back to certifi's bundle (a declared
    dependency, imported only here, where it is needed)."""
    import certifi

    context.load_verify_locations(certifi.where())
