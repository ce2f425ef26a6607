"""Testing a Segment write key with an empty batch, against a local Segment stand-in."""

from __future__ import annotations

import secrets

import httpx
import pytest

from callexa_desktop.services.sandbox.segment import SegmentFake, SegmentServer
from callexa_desktop.services.segment_key_check import (
    SegmentKeyRefused,
    SegmentUnreachable,
    check_write_key,
)


def test_a_key_segment_accepts_passes_and_sends_no_event() -> None:
    key = secrets.token_hex(16)
    with SegmentServer(SegmentFake(write_key=key)) as server:
        sentence = check_write_key(server.endpoint, key)
        assert server.fake.requests == 1
        assert server.fake.messages == []
    assert "accepted the write key" in sentence


def test_a_key_segment_refuses_raises_a_sentence_without_the_key() -> None:
    good, wrong = secrets.token_hex(16), secrets.token_hex(16)
    with (
        SegmentServer(SegmentFake(write_key=good)) as server,
        pytest.raises(SegmentKeyRefused) as caught,
    ):
        check_write_key(server.endpoint, wrong)
    assert "refused this write key" in str(caught.value)
    assert wrong not in str(caught.value)


def test_an_unexpected_status_says_the_endpoint_looks_wrong() -> None:
    key = secrets.token_hex(16)
    with SegmentServer(SegmentFake(write_key=key)) as server:
        server.fake.fail_next(1, status=503)
        with pytest.raises(SegmentUnreachable, match=r"unexpected status \(503\)"):
            check_write_key(server.endpoint, key)


def test_an_endpoint_nobody_answers_says_it_could_not_be_reached() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    key = secrets.token_hex(16)
    with pytest.raises(SegmentUnreachable, match="could not be reached") as caught:
        check_write_key("http://127.0.0.1:9", key, transport=httpx.MockTransport(refuse))
    assert key not in str(caught.value)
