"""The TLS context the Kimai client's transport uses (kimaisync.trackers.kimai2.lean_transport): one per process."""

from __future__ import annotations

import ssl
import threading

import httpx

_tls_lock = threading.Lock()
_tls: ssl.SSLContext | None = None


def shared_tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (CA bundle, SSL_CERT_FILE/SSL_CERT_DIR), made once per process.

    Making one loads the whole CA bundle: 20-60 ms of CPU here, paid by every new client before
    its first request (a delta run makes one), even when Kimai is reached over plain http. A
    context is safe to share between clients and threads once made."""
    global _tls
    with _tls_lock:
        if _tls is None:
            _tls = httpx.create_ssl_context()
        return _tls
