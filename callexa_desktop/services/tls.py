"""One certificate-checking TLS context for every HTTP client of the process.

Building a context loads the CA bundle (certifi's, as httpx does by default, honouring
SSL_CERT_FILE and SSL_CERT_DIR): about 40 ms, and every sync, send, responses pull, feed
poll and key check opens a client of its own. A context is safe to share between clients
and threads, so it is built once, on first use.
"""

from __future__ import annotations

import ssl
from functools import lru_cache

import httpx


@lru_cache(maxsize=1)
def verified_tls() -> ssl.SSLContext:
    """The shared context: server certificates and host names are checked."""
    return httpx.create_ssl_context()
