"""Delivering identify messages to Segment's Tracking API (``POST /v1/batch``).

- Basic auth with the write key as user name and an empty password; gzip bodies.
- Batches packed up to Segment's limits: 500 KB per request and 2,500 messages.
- Transient failures (429 honouring Retry-After, 5xx, time-outs, broken connections) are
  retried with capped exponential backoff and jitter, with the same bytes — so the same
  messageIds — every time. One request keeps being retried for at least a minute and at
  least five attempts; after that the run stops and leaves the rest for the next run.
- 401/403 stops the run (the key is wrong); nothing is marked delivered.
- 400 (and 413) means Segment refused something in the batch: the batch is split in halves
  until the refused message is alone, and that one is reported; the rest are delivered.
- Only a 2xx counts: ``on_acknowledged`` is called right after each acknowledged request.

One ``httpx.Client`` with keep-alive carries every request of a run.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import queue
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from types import TracebackType

import httpx

from callexa_desktop import __version__
from callexa_desktop.core.clock import iso_utc, utc_now
from callexa_desktop.core.errors import SyncRefused

log = logging.getLogger(__name__)

BATCH_PATH = "/v1/batch"
# Segment: 500 KB per batch request; keep under it with room for the envelope's sentAt.
MAX_BATCH_BYTES = 500_000
MAX_BATCH_MESSAGES = 2_500
MAX_MESSAGE_BYTES = 32 * 1024
GZIP_LEVEL = 1  # JSON still shrinks about tenfold; higher levels cost more than they save
_WRITE_KEY = re.compile(r"[\x21-\x7e]{1,1000}")


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message for the wire: its messageId and its compact JSON bytes."""

    message_id: str
    body: bytes


@dataclass(frozen=True)
class RetryPolicy:
    """How long one request is retried before the run gives up on it."""

    min_attempts: int = 5
    min_duration: float = 60.0  # seconds; both this and min_attempts must be reached
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 300.0  # a longer Retry-After ends the run instead of waiting

    def backoff(self, attempt: int, jitter: float) -> float:
        """Delay after failed attempt number ``attempt`` (1-based); ``jitter`` in [0, 1)."""
        capped = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return capped * (0.5 + jitter / 2)  # "equal jitter": never less than half the step


@dataclass
class DeliveryReport:
    """What happened to the messages handed to ``deliver``."""

    delivered: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (messageId, reason)
    undelivered: list[str] = field(default_factory=list)  # messageIds left for the next run
    requests: int = 0
    retries: int = 0
    stopped: str = ""  # a sentence when the run stopped early
    cancelled: bool = False
    last_error: str = ""  # what the last failed attempt ran into


class _Outcome:
    OK = "ok"
    REJECTED = "rejected"  # 400/413: something in this batch is refused
    STOP = "stop"  # the run cannot go on (auth, wrong endpoint, gave up retrying)


class SegmentClient:
    """Posts batches to ``endpoint + /v1/batch``. Use as a context manager or ``close()``.

    ``transport`` replaces the network in tests; ``sleep``, ``monotonic`` and ``jitter``
    make waiting testable without waiting.
    """

    def __init__(
        self,
        endpoint: str,
        write_key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if not _WRITE_KEY.fullmatch(write_key):
            # Checked here so a bad key never reaches an HTTP library error message.
            raise SyncRefused(
                "The Segment write key contains spaces or characters a write key cannot "
                "have; store it again with `callexa-desktop keys set segment`."
            )
        self.endpoint = endpoint.rstrip("/")
        self._url = self.endpoint + BATCH_PATH
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._monotonic = monotonic
        self._jitter = jitter
        token = base64.b64encode(f"{write_key}:".encode()).decode()
        self._http = httpx.Client(
            transport=transport,
            # A plain-http endpoint (the sandbox) never uses TLS: skip loading certificates.
            verify=not self.endpoint.startswith("http://"),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={
                "Authorization": f"Basic {token}",
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "User-Agent": f"callexa-desktop/{__version__}",
            },
            follow_redirects=False,
        )

    def __repr__(self) -> str:  # never show the key
        return f"SegmentClient({self.endpoint!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SegmentClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- delivering --------------------------------------------------------------------

    def deliver(
        self,
        messages: Iterable[OutgoingMessage],
        *,
        on_acknowledged: Callable[[list[str]], None],
        should_cancel: Callable[[], bool] | None = None,
    ) -> DeliveryReport:
        """Send every message, batch by batch; returns what was delivered, refused and left.

        ``on_acknowledged(message_ids)`` runs after each 2xx, before the next request, so
        the caller can record the delivery at once; it (and ``should_cancel``) is called
        from a sender thread, one call at a time.
        """
        report = DeliveryReport()
        settled: set[str] = set()  # delivered or refused: nothing left to do for these
        seen: list[str] = []
        stop = threading.Event()
        failure: list[BaseException] = []
        # Packing (and whatever produces ``messages``) runs here while a sender thread waits
        # for Segment, so reading and encoding overlap with the network.
        handoff: queue.Queue[tuple[list[OutgoingMessage], bytes] | None] = queue.Queue(maxsize=2)

        def acknowledged(message_ids: list[str]) -> None:
            settled.update(message_ids)
            on_acknowledged(message_ids)

        def send_batches() -> None:
            while (item := handoff.get()) is not None:
                if stop.is_set():
                    continue  # drain: the rest waits for the next run
                batch, body = item
                try:
                    if should_cancel is not None and should_cancel():
                        report.cancelled = True
                        stop.set()
                    elif not self._deliver_batch(batch, report, acknowledged, body):
                        stop.set()
                except BaseException as error:  # handed to the caller's thread below
                    failure.append(error)
                    stop.set()

        sender = threading.Thread(target=send_batches, name="segment-sender", daemon=True)
        sender.start()
        try:
            for batch in pack_batches(messages):
                seen.extend(m.message_id for m in batch)
                if not stop.is_set():
                    handoff.put((batch, encode_batch(batch)))
        except BaseException:
            stop.set()
            raise
        finally:
            handoff.put(None)
            sender.join()
        if failure:
            raise failure[0]
        settled.update(message_id for message_id, _ in report.rejected)
        report.undelivered = [m for m in seen if m not in settled]
        return report

    def _deliver_batch(
        self,
        batch: Sequence[OutgoingMessage],
        report: DeliveryReport,
        on_acknowledged: Callable[[list[str]], None],
        body: bytes | None = None,
    ) -> bool:
        """Deliver one batch, bisecting on 400; False when the run must stop."""
        outcome, detail = self._post(batch, report, body)
        if outcome == _Outcome.OK:
            report.delivered += len(batch)
            on_acknowledged([m.message_id for m in batch])
            return True
        if outcome == _Outcome.STOP:
            report.stopped = detail
            return False
        if len(batch) == 1:
            report.rejected.append((batch[0].message_id, detail))
            log.warning("Segment refused message %s: %s", batch[0].message_id, detail)
            return True
        middle = len(batch) // 2
        return self._deliver_batch(batch[:middle], report, on_acknowledged) and self._deliver_batch(
            batch[middle:], report, on_acknowledged
        )

    def _post(
        self, batch: Sequence[OutgoingMessage], report: DeliveryReport, body: bytes | None = None
    ) -> tuple[str, str]:
        """One batch, retried while the failure is transient. Returns (outcome, sentence).

        ``body`` is the batch already encoded for the first attempt; retries re-encode it
        with a fresh sentAt (the messages, and so their messageIds, stay the same bytes).
        """
        started = self._monotonic()
        slept = 0.0
        attempt = 0
        while True:
            attempt += 1
            report.requests += 1
            if body is None or attempt > 1:
                body = encode_batch(batch)
            wait_hint: float | None = None
            try:
                reply = self._http.post(self._url, content=body)
            except httpx.TimeoutException:
                problem = "Segment did not answer in time"
            except httpx.TransportError as error:
                problem = f"the connection to Segment failed ({type(error).__name__})"
            else:
                status = reply.status_code
                if 200 <= status < 300:
                    return _Outcome.OK, ""
                if status in (401, 403):
                    return _Outcome.STOP, (
                        f"Segment refused the write key (HTTP {status}); nothing more was sent "
                        "and every rating waits for the next sync. Store the right key with "
                        "`callexa-desktop keys set segment` and check the endpoint region."
                    )
                if status in (400, 413):
                    return _Outcome.REJECTED, f"Segment refused it (HTTP {status}: {_why(reply)})"
                if status != 429 and status != 408 and status < 500:
                    return _Outcome.STOP, (
                        f"Segment at {self.endpoint} answered HTTP {status}; check the Segment "
                        "endpoint in Settings. Nothing more was sent this run."
                    )
                problem = f"Segment answered HTTP {status}"
                wait_hint = retry_after_seconds(reply.headers.get("Retry-After"))
            report.last_error = problem
            elapsed = max(self._monotonic() - started, slept)
            if attempt >= self._retry.min_attempts and elapsed >= self._retry.min_duration:
                return _Outcome.STOP, (
                    f"{problem} after {attempt} attempts over {elapsed:.0f} seconds; the "
                    "undelivered ratings wait for the next sync."
                )
            if wait_hint is not None and wait_hint > self._retry.max_retry_after:
                return _Outcome.STOP, (
                    f"Segment asked us to wait {wait_hint:.0f} seconds; the undelivered ratings "
                    "wait for the next sync."
                )
            delay = (
                wait_hint if wait_hint is not None else self._retry.backoff(attempt, self._jitter())
            )
            log.info(
                "Segment batch attempt %d failed (%s); retrying in %.1fs", attempt, problem, delay
            )
            report.retries += 1
            self._sleep(delay)
            slept += delay


def pack_batches(messages: Iterable[OutgoingMessage]) -> Iterable[list[OutgoingMessage]]:
    """Group messages into batches within MAX_BATCH_BYTES and MAX_BATCH_MESSAGES, in order."""
    batch: list[OutgoingMessage] = []
    size = _ENVELOPE_BYTES
    for message in messages:
        extra = len(message.body) + 1  # the comma between messages
        if batch and (size + extra > MAX_BATCH_BYTES or len(batch) >= MAX_BATCH_MESSAGES):
            yield batch
            batch, size = [], _ENVELOPE_BYTES
        batch.append(message)
        size += extra
    if batch:
        yield batch


def encode_batch(batch: Sequence[OutgoingMessage]) -> bytes:
    """The gzip-compressed ``{"batch": [...], "sentAt": ...}`` body of one request."""
    sent_at = json.dumps(iso_utc(utc_now())).encode()
    raw = b'{"batch":[' + b",".join(m.body for m in batch) + b'],"sentAt":' + sent_at + b"}"
    return gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date); None if absent or bad."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - utc_now()).total_seconds())


_ENVELOPE_BYTES = len(b'{"batch":[],"sentAt":"2026-01-01T00:00:00.000000Z"}') + 16


def _why(reply: httpx.Response) -> str:
    try:
        data = reply.json()
    except ValueError:
        return reply.reason_phrase or "no reason given"
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])[:200]
    return reply.reason_phrase or "no reason given"
