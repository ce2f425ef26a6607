"""The Segment stand-in enforces Segment's documented limits and checks the write key."""

from __future__ import annotations

import base64
import gzip
import json
import secrets
import threading
from typing import Any

import httpx
import pytest

from callexa_desktop.services.sandbox.segment import (
    MAX_BATCH_BYTES,
    MAX_MESSAGE_BYTES,
    SegmentFake,
    SegmentServer,
)


def auth(key: str, password: str = "") -> dict[str, str]:
    token = base64.b64encode(f"{key}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def batch(*messages: dict[str, Any]) -> bytes:
    return json.dumps({"batch": list(messages)}).encode()


def identify(n: int, **extra: Any) -> dict[str, Any]:
    return {"type": "identify", "userId": f"u{n}", "messageId": f"m{n}", **extra}


@pytest.fixture
def key() -> str:
    return secrets.token_hex(16)


def test_a_batch_with_the_right_key_is_accepted_and_recorded_in_order(key: str) -> None:
    fake = SegmentFake(key)
    status, _, body = fake.handle("POST", "/v1/batch", auth(key), batch(identify(1), identify(2)))
    assert (status, json.loads(body)) == (200, {"success": True})
    assert [m["messageId"] for m in fake.messages] == ["m1", "m2"]
    assert fake.requests == 1


def test_a_batch_context_applies_to_every_message_and_a_message_s_own_keys_win(
    key: str,
) -> None:
    fake = SegmentFake(key)
    shared = {"library": {"name": "lib"}, "locale": "de-DE"}
    own = identify(2, context={"locale": "fr-FR"})
    body = json.dumps({"batch": [identify(1), own], "context": shared}).encode()
    status, _, _ = fake.handle("POST", "/v1/batch", auth(key), body)
    assert status == 200
    first, second = fake.messages
    assert first["context"] == shared
    assert second["context"] == {"library": {"name": "lib"}, "locale": "fr-FR"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer whatever"},
        {"Authorization": "Basic !!!"},
        "wrong-key",
        "password-given",
    ],
)
def test_a_missing_or_wrong_key_gets_401_and_nothing_is_recorded(key: str, headers: Any) -> None:
    if headers == "wrong-key":
        headers = auth(secrets.token_hex(16))
    elif headers == "password-given":
        headers = auth(key, "secret")
    fake = SegmentFake(key)
    status, _, _ = fake.handle("POST", "/v1/batch", headers, batch(identify(1)))
    assert status == 401
    assert fake.messages == []


def test_without_a_configured_key_anything_is_accepted() -> None:
    fake = SegmentFake()
    assert fake.handle("POST", "/v1/batch", {}, batch(identify(1)))[0] == 200


def test_gzip_bodies_are_accepted_and_damaged_gzip_is_400(key: str) -> None:
    fake = SegmentFake(key)
    headers = {**auth(key), "Content-Encoding": "gzip"}
    assert fake.handle("POST", "/v1/batch", headers, gzip.compress(batch(identify(1))))[0] == 200
    assert (
        fake.handle("POST", "/v1/batch", headers, gzip.compress(batch(identify(2)))[:-8])[0] == 400
    )
    assert [m["messageId"] for m in fake.messages] == ["m1"]


def test_a_message_over_32_kb_makes_the_whole_batch_a_400(key: str) -> None:
    fake = SegmentFake(key)
    big = identify(2, traits={"NPS_comment": "x" * MAX_MESSAGE_BYTES})
    status, _, body = fake.handle("POST", "/v1/batch", auth(key), batch(identify(1), big))
    assert status == 400
    assert "32KB" in json.loads(body)["message"]
    assert fake.messages == []


def test_a_message_just_under_32_kb_is_accepted(key: str) -> None:
    fake = SegmentFake(key)
    message = identify(1, traits={"c": ""})
    room = MAX_MESSAGE_BYTES - len(json.dumps(message, separators=(",", ":")))
    message["traits"]["c"] = "x" * room
    body = json.dumps({"batch": [message]}, separators=(",", ":")).encode()
    assert fake.handle("POST", "/v1/batch", auth(key), body)[0] == 200
    # Measured as sent: the same message with spaces after the separators is too large.
    assert fake.handle("POST", "/v1/batch", auth(key), batch(message))[0] == 400


def test_non_ascii_messages_are_measured_in_bytes(key: str) -> None:
    fake = SegmentFake(key)
    message = identify(1, traits={"c": "é" * (MAX_MESSAGE_BYTES // 2)})  # 2 bytes each
    body = json.dumps({"batch": [identify(2), message]}, ensure_ascii=False).encode()
    assert fake.handle("POST", "/v1/batch", auth(key), body)[0] == 400


def test_a_request_over_500_kb_is_a_400_even_when_gzip_makes_it_small(key: str) -> None:
    fake = SegmentFake(key)
    messages = [identify(n, traits={"c": "x" * 20_000}) for n in range(30)]
    raw = batch(*messages)
    assert len(raw) > MAX_BATCH_BYTES
    headers = {**auth(key), "Content-Encoding": "gzip"}
    status, _, _ = fake.handle("POST", "/v1/batch", headers, gzip.compress(raw))
    assert status == 400
    assert fake.messages == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"batch": "no"}',
        b'{"batch": [1]}',
        b'{"batch": [{}]} trailing',
        b'{"sentAt": "x"}',
        b'{"batch": [{"a": 1},]}',
    ],
)
def test_a_body_that_is_not_a_batch_is_a_400(key: str, body: bytes) -> None:
    assert SegmentFake(key).handle("POST", "/v1/batch", auth(key), body)[0] == 400


def test_single_identify_route_records_the_message(key: str) -> None:
    fake = SegmentFake(key)
    body = json.dumps({"userId": "u1", "traits": {"NPS_rating": 9}}).encode()
    assert fake.handle("POST", "/v1/identify", auth(key), body)[0] == 200
    assert fake.messages == [{"userId": "u1", "traits": {"NPS_rating": 9}, "type": "identify"}]


def test_unknown_routes_and_methods_are_refused(key: str) -> None:
    fake = SegmentFake(key)
    assert fake.handle("POST", "/v1/unknown", auth(key), b"{}")[0] == 404
    assert fake.handle("GET", "/v1/batch", auth(key), b"")[0] == 405


def test_planned_failures_answer_the_next_requests_then_stop(key: str) -> None:
    fake = SegmentFake(key)
    fake.fail_next(2, 429, retry_after="3")
    first = fake.handle("POST", "/v1/batch", auth(key), batch(identify(1)))
    second = fake.handle("POST", "/v1/batch", auth(key), batch(identify(1)))
    third = fake.handle("POST", "/v1/batch", auth(key), batch(identify(1)))
    assert [first[0], second[0], third[0]] == [429, 429, 200]
    assert first[1]["Retry-After"] == "3"
    assert fake.message_id_counts() == {"m1": 1}


def test_a_stalled_request_waits_for_release_and_signals_its_arrival(key: str) -> None:
    with SegmentServer(SegmentFake(key)) as server:
        server.fake.stall_requests(1)
        replies: list[int] = []

        def post() -> None:
            reply = httpx.post(
                f"{server.endpoint}/v1/batch", content=batch(identify(1)), headers=auth(key)
            )
            replies.append(reply.status_code)

        worker = threading.Thread(target=post)
        worker.start()
        assert server.fake.request_arrived.wait(timeout=10)
        assert server.fake.wait_until(lambda fake: fake.held == 1, timeout=10)
        assert replies == []
        assert server.fake.messages == []
        server.fake.release()
        worker.join(timeout=10)
        assert server.fake.held == 0
    assert replies == [200]


def test_pretty_printed_batches_are_read_and_measured_as_sent(key: str) -> None:
    fake = SegmentFake(key)
    message = identify(2, traits={"c": ""})
    compact = len(json.dumps(message, separators=(",", ":")))
    message["traits"]["c"] = "x" * (MAX_MESSAGE_BYTES - compact)  # exactly 32 KB compact
    spaced = json.dumps({"sentAt": "x", "batch": [identify(1), message]}, indent=2).encode()
    tight = json.dumps(
        {"batch": [identify(1), message], "sentAt": "x"}, separators=(",", ":")
    ).encode()
    small = json.dumps({"batch": [identify(3), identify(4)]}, indent="\t").encode()

    assert fake.handle("POST", "/v1/batch", auth(key), tight)[0] == 200
    assert fake.handle("POST", "/v1/batch", auth(key), spaced)[0] == 400  # indented: over 32 KB
    assert fake.handle("POST", "/v1/batch", auth(key), small)[0] == 200
    assert [m["messageId"] for m in fake.messages] == ["m1", "m2", "m3", "m4"]


def test_many_clients_at_once_lose_nothing(key: str) -> None:
    with SegmentServer(SegmentFake(key)) as server:

        def post(start: int) -> None:
            with httpx.Client() as client:
                for n in range(start, start + 50):
                    client.post(
                        f"{server.endpoint}/v1/batch", content=batch(identify(n)), headers=auth(key)
                    )

        workers = [threading.Thread(target=post, args=(k * 50,)) for k in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=30)
        assert len(server.fake.messages) == 200
        assert len(server.fake.message_id_counts()) == 200
        assert server.fake.requests == 200
