"""The Segment batch client against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import base64
import gzip
import json
import secrets
import threading
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callexa_desktop import __version__
from callexa_desktop.core.errors import SyncRefused
from callexa_desktop.services.sandbox.segment import (
    MAX_BATCH_BYTES as SEGMENT_BATCH_LIMIT,
)
from callexa_desktop.services.sandbox.segment import (
    SegmentFake,
    SegmentServer,
)
from callexa_desktop.services.segment import (
    _ENVELOPE_BYTES,
    FIRST_BATCH_MESSAGES,
    IN_FLIGHT,
    MAX_BATCH_BYTES,
    MAX_BATCH_MESSAGES,
    DeliveryReport,
    OutgoingMessage,
    RetryPolicy,
    SegmentClient,
    encode_batch,
    pack_batches,
    pack_pages,
    retry_after_seconds,
)
from tests.services.fault_server import DROP, STALL, FakeTime, FaultServer, Status


def message(n: int, padding: int = 0) -> OutgoingMessage:
    body = {
        "type": "identify",
        "userId": f"user-{n}",
        "traits": {
            "NPS_rating": n % 11,
            "NPS_comment": "x" * padding,
            "NPS_date": "2026-11-01T08:00:00Z",
        },
        "messageId": f"m-{n:05d}",
    }
    return OutgoingMessage(f"m-{n:05d}", json.dumps(body, separators=(",", ":")).encode())


@pytest.fixture
def write_key() -> str:
    return secrets.token_hex(16)


@pytest.fixture
def segment(write_key: str) -> Iterator[SegmentServer]:
    with SegmentServer(SegmentFake(write_key)) as server:
        yield server


def client_for(
    endpoint: str, write_key: str, clock: FakeTime | None = None, **options: object
) -> SegmentClient:
    clock = clock or FakeTime()
    return SegmentClient(
        endpoint,
        write_key,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        jitter=lambda: 0.5,
        **options,  # type: ignore[arg-type]
    )


def deliver_in_background(
    client: SegmentClient, messages: list[OutgoingMessage], recorded: list[list[str]]
) -> tuple[threading.Thread, list[DeliveryReport]]:
    reports: list[DeliveryReport] = []
    worker = threading.Thread(
        target=lambda: reports.append(client.deliver(messages, on_acknowledged=recorded.append))
    )
    worker.start()
    return worker, reports


class HeldClock(FakeTime):
    """A fake clock whose ``sleep`` waits for ``wake`` before moving the time on."""

    def __init__(self) -> None:
        super().__init__()
        self.wake = threading.Event()
        self.changed = threading.Condition()

    def sleep(self, seconds: float) -> None:
        with self.changed:
            self.sleeps.append(seconds)
            self.changed.notify_all()
        assert self.wake.wait(timeout=30)
        with self.changed:
            self.now += seconds


def test_every_message_arrives_once_with_basic_auth_and_gzip(
    segment: SegmentServer, write_key: str
) -> None:
    acknowledged: list[str] = []
    with client_for(segment.endpoint, write_key) as client:
        report = client.deliver(
            [message(n) for n in range(10)], on_acknowledged=acknowledged.extend
        )
    assert report.delivered == 10
    assert report.undelivered == []
    assert acknowledged == [f"m-{n:05d}" for n in range(10)]
    assert [m["messageId"] for m in segment.fake.messages] == acknowledged
    assert all(r.gzipped for r in segment.fake.request_log)


def test_the_library_context_travels_once_per_request_and_reaches_every_message(
    segment: SegmentServer, write_key: str
) -> None:
    body = json.loads(gzip.decompress(encode_batch([message(1), message(2)])))
    assert body["context"] == {"library": {"name": "callexa-desktop", "version": __version__}}
    assert all("context" not in m for m in body["batch"])

    with client_for(segment.endpoint, write_key) as client:
        client.deliver([message(n) for n in range(3)], on_acknowledged=lambda _: None)
    contexts = [m["context"]["library"]["name"] for m in segment.fake.messages]
    assert contexts == ["callexa-desktop"] * 3


def test_a_wrong_write_key_stops_the_run_and_nothing_counts_as_delivered(
    segment: SegmentServer,
) -> None:
    acknowledged: list[str] = []
    other_key = secrets.token_hex(16)
    with client_for(segment.endpoint, other_key) as client:
        report = client.deliver(
            [message(n) for n in range(3000)], on_acknowledged=acknowledged.extend
        )
    assert "refused the write key" in report.stopped
    assert other_key not in report.stopped
    assert acknowledged == []
    assert len(report.undelivered) == 3000
    assert segment.fake.requests == 1  # the run stopped at the first refusal


def test_batches_never_exceed_2500_messages(segment: SegmentServer, write_key: str) -> None:
    with client_for(segment.endpoint, write_key) as client:
        report = client.deliver([message(n) for n in range(6000)], on_acknowledged=lambda _: None)
    assert report.delivered == 6000
    # The first request is small and goes alone; the others travel side by side, so they
    # may be answered in any order.
    first, *others = (r.message_count for r in segment.fake.request_log)
    assert first == FIRST_BATCH_MESSAGES
    assert sorted(others) == sorted([2500, 2500, 6000 - 5000 - FIRST_BATCH_MESSAGES])


def test_batches_of_large_messages_stay_within_500_kb(
    segment: SegmentServer, write_key: str
) -> None:
    messages = [message(n, padding=30_000) for n in range(60)]
    with client_for(segment.endpoint, write_key) as client:
        report = client.deliver(messages, on_acknowledged=lambda _: None)
    assert report.delivered == 60
    sizes = [r.body_bytes for r in segment.fake.request_log]
    assert all(size <= SEGMENT_BATCH_LIMIT for size in sizes)
    assert max(sizes) > SEGMENT_BATCH_LIMIT * 0.9  # packed full, not one message per request
    assert len(segment.fake.messages) == 60


def test_only_the_first_batch_is_held_to_the_first_batch_size() -> None:
    messages = [message(n) for n in range(700)]
    sizes = [len(batch) for batch in pack_batches(messages, first_batch_messages=150)]
    assert sizes == [150, 550]


def _packed_one_by_one(messages: list[OutgoingMessage], first: int) -> list[list[str]]:
    """The packing rule, a message at a time: the next message starts a new batch when it
    would take the batch over 500 KB or past its message limit."""
    batches: list[list[str]] = []
    batch: list[str] = []
    size = _ENVELOPE_BYTES
    limit = first
    for message_id, body in messages:
        extra = len(body) + 1
        if batch and (size + extra > MAX_BATCH_BYTES or len(batch) >= limit):
            batches.append(batch)
            batch, size, limit = [], _ENVELOPE_BYTES, MAX_BATCH_MESSAGES
        batch.append(message_id)
        size += extra
    if batch:
        batches.append(batch)
    return batches


@settings(max_examples=60, deadline=None)
@given(
    paddings=st.lists(st.sampled_from([0, 10, 300, 5_000, 31_000]), max_size=4_000),
    page_size=st.integers(1, 3_000),
    first=st.sampled_from([1, 200, MAX_BATCH_MESSAGES]),
)
def test_packing_pages_gives_the_batches_of_packing_one_by_one(
    paddings: list[int], page_size: int, first: int
) -> None:
    messages = [message(n, padding=padding) for n, padding in enumerate(paddings)]
    pages = [messages[at : at + page_size] for at in range(0, len(messages), page_size)]
    packed = [
        [message_id for message_id, _ in batch]
        for batch in pack_pages(pages, first_batch_messages=first)
    ]
    assert packed == _packed_one_by_one(messages, first)


def test_packing_keeps_order_and_respects_both_limits() -> None:
    messages = [message(n, padding=(n * 7919) % 20_000) for n in range(3000)]
    batches = list(pack_batches(messages))
    assert [m for batch in batches for m in batch] == messages
    for batch in batches:
        assert len(batch) <= MAX_BATCH_MESSAGES
        body = (
            b'{"batch":['
            + b",".join(m.body for m in batch)
            + b'],"sentAt":"2026-11-30T12:00:00.000Z"}'
        )
        assert len(body) <= SEGMENT_BATCH_LIMIT


def test_a_refused_message_is_isolated_by_splitting_and_the_rest_delivered(
    segment: SegmentServer, write_key: str
) -> None:
    segment.fake.reject_messages(lambda m: m.get("messageId") == "m-00777")
    acknowledged: list[str] = []
    with client_for(segment.endpoint, write_key) as client:
        report = client.deliver(
            [message(n) for n in range(2000)], on_acknowledged=acknowledged.extend
        )
    assert [mid for mid, _ in report.rejected] == ["m-00777"]
    assert "HTTP 400" in report.rejected[0][1]
    assert sorted(acknowledged) == sorted(f"m-{n:05d}" for n in range(2000) if n != 777)
    assert segment.fake.message_id_counts().most_common(1)[0][1] == 1
    assert report.undelivered == []
    assert not report.stopped
    # The small first request, then about two requests per halving of the other batch.
    assert segment.fake.requests <= 1 + 2 * 11 + 1


def test_transient_failures_are_retried_with_the_same_message_ids(write_key: str) -> None:
    script = [Status(503), Status(429, {"Retry-After": "7"}), DROP, Status(502)]
    clock = FakeTime()
    with FaultServer(script, write_key) as server:
        with client_for(server.endpoint, write_key, clock) as client:
            report = client.deliver([message(n) for n in range(50)], on_acknowledged=lambda _: None)
        attempts = server.attempts
        delivered = server.fake.message_id_counts()
    assert report.delivered == 50
    assert len(attempts) == 5
    assert all(ids == attempts[0] for ids in attempts)  # identical messageIds on every retry
    assert set(delivered.values()) == {1}
    assert 7 in clock.sleeps  # Retry-After honoured
    assert report.retries == 4


def test_a_slow_reply_times_out_and_is_retried(write_key: str) -> None:
    with FaultServer([STALL], write_key) as server:
        with client_for(server.endpoint, write_key, timeout=0.3) as client:
            report = client.deliver([message(n) for n in range(5)], on_acknowledged=lambda _: None)
        assert server.request_arrived.is_set()
        assert report.delivered == 5
        assert server.steps_taken == [STALL, "pass"]
        assert server.attempts[0] == server.attempts[1]


def test_a_failure_that_persists_is_retried_for_a_minute_and_five_attempts_then_left(
    segment: SegmentServer, write_key: str
) -> None:
    segment.fake.fail_next(10_000, 503)
    clock = FakeTime()
    acknowledged: list[str] = []
    with client_for(segment.endpoint, write_key, clock) as client:
        report = client.deliver(
            [message(n) for n in range(3000)], on_acknowledged=acknowledged.extend
        )
    assert acknowledged == []
    assert len(report.undelivered) == 3000
    assert "next sync" in report.stopped
    assert report.requests >= 5
    assert sum(clock.sleeps) >= 60
    assert max(clock.sleeps) <= RetryPolicy().max_delay
    assert clock.sleeps[:4] == [0.375, 0.75, 1.5, 3.0]  # exponential, with (fixed) jitter
    assert segment.fake.requests == report.requests  # the second batch was never tried


def test_jitter_spreads_the_backoff_between_half_and_all_of_the_step() -> None:
    policy = RetryPolicy()
    assert policy.backoff(3, 0.0) == 1.0
    assert policy.backoff(3, 0.999) == pytest.approx(2.0, rel=1e-3)
    assert policy.backoff(30, 0.999) <= policy.max_delay


def test_a_retry_after_beyond_five_minutes_leaves_the_rest_for_the_next_run(
    segment: SegmentServer, write_key: str
) -> None:
    segment.fake.fail_next(1, 429, retry_after="3600")
    clock = FakeTime()
    with client_for(segment.endpoint, write_key, clock) as client:
        report = client.deliver([message(1)], on_acknowledged=lambda _: None)
    assert "wait 3600 seconds" in report.stopped
    assert report.undelivered == ["m-00001"]
    assert clock.sleeps == []


def test_cancelling_between_batches_leaves_the_rest_undelivered(
    segment: SegmentServer, write_key: str
) -> None:
    acknowledged: list[str] = []
    with client_for(segment.endpoint, write_key) as client:
        report = client.deliver(
            [message(n) for n in range(6000)],
            on_acknowledged=acknowledged.extend,
            should_cancel=lambda: bool(acknowledged),
        )
    assert report.cancelled
    assert len(acknowledged) == FIRST_BATCH_MESSAGES
    assert len(report.undelivered) == 6000 - FIRST_BATCH_MESSAGES


def test_a_wrong_endpoint_stops_with_a_sentence(write_key: str) -> None:
    with (
        FaultServer([Status(404)], write_key) as server,
        client_for(server.endpoint, write_key) as client,
    ):
        report = client.deliver([message(1)], on_acknowledged=lambda _: None)
    assert "HTTP 404" in report.stopped
    assert "Segment endpoint" in report.stopped


def test_a_write_key_with_spaces_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(SyncRefused, match="keys set segment"):
        SegmentClient("http://127.0.0.1:9", "not a key")


def test_the_authorization_header_is_the_key_as_user_with_empty_password(write_key: str) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        assert request.headers["Content-Encoding"] == "gzip"
        assert json.loads(gzip.decompress(request.content))["batch"][0]["messageId"] == "m-00001"
        return httpx.Response(200, json={"success": True})

    client = SegmentClient(
        "https://api.segment.io", write_key, transport=httpx.MockTransport(handler)
    )
    with client:
        client.deliver([message(1)], on_acknowledged=lambda _: None)
    assert seen == ["Basic " + base64.b64encode(f"{write_key}:".encode()).decode()]
    assert write_key not in repr(client)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        ("0", 0.0),
        ("-3", 0.0),
        ("soon", None),
        (None, None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date(
    header: str | None, seconds: float | None
) -> None:
    assert retry_after_seconds(header) == seconds


def test_after_the_first_batch_is_recorded_requests_travel_side_by_side(
    segment: SegmentServer, write_key: str
) -> None:
    fake = segment.fake
    fake.stall_requests(IN_FLIGHT, after=1)
    recorded: list[list[str]] = []
    with client_for(segment.endpoint, write_key) as client:
        worker, reports = deliver_in_background(
            client, [message(n) for n in range(10_000)], recorded
        )
        try:
            assert fake.wait_until(lambda f: f.held == IN_FLIGHT, timeout=30)
            # The first batch was recorded before more went out.
            assert [len(ids) for ids in recorded] == [FIRST_BATCH_MESSAGES]
        finally:
            fake.release()
            worker.join(timeout=30)
    [report] = reports
    assert report.delivered == 10_000
    assert sorted(m for ids in recorded for m in ids) == [f"m-{n:05d}" for n in range(10_000)]
    assert set(fake.message_id_counts().values()) == {1}


def test_recording_an_acknowledgement_does_not_hold_up_the_next_request(
    segment: SegmentServer, write_key: str
) -> None:
    fake = segment.fake
    recorded: list[list[str]] = []

    def record(message_ids: list[str]) -> None:
        recorded.append(message_ids)
        if len(recorded) == 2:
            # While this batch is being recorded, its sender has already posted the next one.
            assert fake.wait_until(lambda f: len(f.request_log) >= 4, timeout=30)

    with client_for(segment.endpoint, write_key) as client:
        report = client.deliver([message(n) for n in range(12_500)], on_acknowledged=record)
    assert report.delivered == 12_500
    assert sum(len(ids) for ids in recorded) == 12_500  # all recorded before deliver returned


def test_a_failure_to_record_stops_the_run_and_reaches_the_caller(
    segment: SegmentServer, write_key: str
) -> None:
    def record(message_ids: list[str]) -> None:
        raise OSError("database is locked")

    with (
        client_for(segment.endpoint, write_key) as client,
        pytest.raises(OSError, match="locked"),
    ):
        client.deliver([message(n) for n in range(6000)], on_acknowledged=record)
    assert segment.fake.requests == 1  # nothing more went out once recording failed


def test_a_retry_after_holds_back_every_sender_of_the_run(write_key: str) -> None:
    clock = HeldClock()
    sent: list[str] = []  # the first messageId of each request, in order
    # Batches start at these messages: the small first one, then 2,500 each.
    refused, beside, after_both = (f"m-{FIRST_BATCH_MESSAGES + n:05d}" for n in (0, 2500, 5000))

    def handler(request: httpx.Request) -> httpx.Response:
        first = json.loads(gzip.decompress(request.content))["batch"][0]["messageId"]
        with clock.changed:
            sent.append(first)
            refused_before = sent.count(first) > 1
        if first == refused and not refused_before:
            return httpx.Response(429, headers={"Retry-After": "7"})
        if first == beside:  # travelling beside the refused batch: answered once it waits
            with clock.changed:
                assert clock.changed.wait_for(lambda: clock.sleeps, timeout=30)
        return httpx.Response(200, json={"success": True})

    client = SegmentClient(
        "https://api.segment.io",
        write_key,
        transport=httpx.MockTransport(handler),
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        jitter=lambda: 0.5,
    )
    recorded: list[list[str]] = []
    with client:
        worker, reports = deliver_in_background(
            client, [message(n) for n in range(12_500)], recorded
        )
        try:
            with clock.changed:
                # The sender that was answered 200 waits out the other one's Retry-After too.
                assert clock.changed.wait_for(lambda: len(clock.sleeps) == 2, timeout=30)
                assert after_both not in sent
        finally:
            clock.wake.set()
            worker.join(timeout=30)
    [report] = reports
    assert report.delivered == 12_500
    assert clock.sleeps == [7, 7]
    assert sent.count(refused) == 2
    starts = [0, *range(FIRST_BATCH_MESSAGES, 12_500, 2500)]
    assert sorted(set(sent)) == [f"m-{n:05d}" for n in starts]
