"""Every HTTP client of the process checks certificates with one TLS context, built once."""

from __future__ import annotations

import secrets
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from callexa_desktop.services import tls
from callexa_desktop.services.callexa import CallexaClient
from callexa_desktop.services.segment import SegmentClient


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ssl.SSLContext]]:
    """The contexts built while a test runs (the cache starts and ends empty)."""
    made: list[ssl.SSLContext] = []
    real = httpx.create_ssl_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(httpx, "create_ssl_context", counting)
    tls.verified_tls.cache_clear()
    yield made
    tls.verified_tls.cache_clear()


def test_the_shared_context_checks_certificates_and_host_names(
    built: list[ssl.SSLContext],
) -> None:
    context = tls.verified_tls()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_clients_built_one_after_another_share_one_context(built: list[ssl.SSLContext]) -> None:
    key = secrets.token_hex(16)
    for _ in range(3):
        with CallexaClient("https://api.callexa.example/v1", key):
            pass
        with SegmentClient("https://api.segment.io", key):
            pass
    assert len(built) == 1
    assert tls.verified_tls() is built[0]


def test_a_plain_http_endpoint_builds_no_context(built: list[ssl.SSLContext]) -> None:
    with SegmentClient("http://127.0.0.1:9", secrets.token_hex(16)):
        pass
    assert built == []
