"""A stand-in for Segment's HTTP Tracking API, for rehearsal, demos, tests and benchmarks.

It speaks the part of the API we use: ``POST /v1/batch`` (``{"batch": [...]}``) and the
single-message routes such as ``POST /v1/identify``. It enforces the limits Segment
documents — 32 KB per message, 500 KB per batch request (uncompressed), ``400 Bad Request``
when either is exceeded or the body is not JSON — checks Basic auth (the write key as user
name, an empty password) when a write key is configured, and accepts gzip bodies.

Accepted messages are kept in arrival order in ``.messages``. Duplicates of one messageId are
kept too (Segment itself deduplicates later), so tests can count them. Tests can ask it to
fail the next requests (``fail_next``), to reject batches holding certain messages
(``reject_messages``), or to stall requests until released (``stall_requests``).

``SegmentServer`` puts a fake behind a small threaded HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

# Segment's documented limits: "32KB per event" and "500KB per batch request".
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024

SINGLE_MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")

Reply = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True)
class RequestRecord:
    """One request the fake answered: where, how big, how many messages, and the status."""

    path: str
    status: int
    body_bytes: int
    gzipped: bool
    message_count: int


@dataclass
class _PlannedFailure:
    status: int
    retry_after: str | None
    remaining: int


class SegmentFake:
    """Segment's Tracking API in memory. Thread-safe; ``handle`` is the single entry point."""

    def __init__(self, write_key: str | None = None) -> None:
        self.write_key = write_key
        self.messages: list[dict[str, Any]] = []
        self.requests = 0
        self.held = 0  # requests being held by ``stall_requests`` right now
        self.request_log: list[RequestRecord] = []
        self._lock = threading.RLock()  # re-entrant: wait_until conditions may read counts
        self._failures: list[_PlannedFailure] = []
        self._reject: Callable[[Mapping[str, Any]], bool] | None = None
        self._stall_count = 0
        self._stall_after = 0
        self._changed = threading.Condition(self._lock)
        self.request_arrived = threading.Event()
        self._release = threading.Event()

    # -- test controls -------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 503, *, retry_after: str | None = None) -> None:
        """Answer the next ``count`` requests with ``status`` (and Retry-After if given)."""
        with self._lock:
            self._failures.append(_PlannedFailure(status, retry_after, count))

    def reject_messages(self, predicate: Callable[[Mapping[str, Any]], bool] | None) -> None:
        """Answer 400 to any request holding a message for which ``predicate`` is true."""
        with self._lock:
            self._reject = predicate

    def stall_requests(self, count: int = 1, *, after: int = 0) -> None:
        """Let ``after`` requests through, then hold the next ``count`` until ``release()``.

        ``request_arrived`` is set when a request is being held, and ``held`` counts them
        (``wait_until`` wakes up for each).
        """
        with self._lock:
            self._stall_after = after
            self._stall_count = count
            self.request_arrived.clear()
            self._release.clear()

    def release(self) -> None:
        """Let stalled requests continue (they are then answered normally)."""
        self._release.set()

    # -- what arrived --------------------------------------------------------------------

    def wait_until(self, condition: Callable[[SegmentFake], bool], timeout: float = 30) -> bool:
        """Block until ``condition(self)`` holds after some request is answered or held (or
        ``timeout``); its value."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(self), timeout=timeout)

    def message_id_counts(self) -> Counter[str]:
        """How many times each messageId was accepted (more than once means a retry)."""
        with self._lock:
            return Counter(str(m.get("messageId")) for m in self.messages)

    def snapshot(self) -> list[dict[str, Any]]:
        """A copy of the accepted messages, safe to read while requests keep arriving."""
        with self._lock:
            return list(self.messages)

    def reset(self) -> None:
        """Forget everything received; planned failures and rejections too."""
        with self._lock:
            self.messages.clear()
            self.request_log.clear()
            self.requests = 0
            self._failures.clear()
            self._reject = None

    # -- the API -------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one HTTP request as Segment would: ``(status, headers, body)``."""
        with self._lock:
            self.requests += 1
            stall = self._stall_count > 0 and self._stall_after == 0
            if stall:
                self._stall_count -= 1
                self.held += 1
                self._changed.notify_all()
            elif self._stall_count > 0:
                self._stall_after -= 1
        if stall:
            self.request_arrived.set()
            # Bounded so a forgotten release cannot hang a test run forever.
            self._release.wait(timeout=120)
            with self._lock:
                self.held -= 1
        lowered = {key.lower(): value for key, value in headers.items()}
        status, reply_headers, reply_body, accepted, gzipped, size = self._answer(
            method, path, lowered, body
        )
        with self._lock:
            self.messages.extend(accepted)
            self.request_log.append(
                RequestRecord(path, status, size, gzipped, len(accepted) if status == 200 else 0)
            )
            self._changed.notify_all()
        return status, reply_headers, reply_body

    def _answer(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes, list[dict[str, Any]], bool, int]:
        gzipped = headers.get("content-encoding", "").strip().lower() == "gzip"
        planned = self._take_failure()
        if planned is not None:
            extra = {"Retry-After": planned.retry_after} if planned.retry_after else {}
            return (
                *_error(planned.status, "unavailable", "Simulated failure.", extra),
                [],
                gzipped,
                0,
            )
        route = path.split("?", 1)[0].rstrip("/")
        if not route.startswith("/v1/"):
            return (*_error(404, "not_found", "No such endpoint."), [], gzipped, 0)
        kind = route.removeprefix("/v1/")
        if kind != "batch" and kind not in SINGLE_MESSAGE_TYPES:
            return (*_error(404, "not_found", "No such endpoint."), [], gzipped, 0)
        if method.upper() != "POST":
            return (*_error(405, "method_not_allowed", "Use POST."), [], gzipped, 0)
        if not self._authorised(headers):
            return (*_error(401, "unauthorized", "Invalid write key."), [], gzipped, 0)
        try:
            raw = _decompress(body) if gzipped else body
        except (EOFError, zlib.error):
            return (*_error(400, "invalid_request", "Body is not valid gzip."), [], gzipped, 0)
        size = len(raw)
        limit = MAX_BATCH_BYTES if kind == "batch" else MAX_MESSAGE_BYTES
        if size > limit:
            return (*_error(400, "too_large", "Request is too large."), [], gzipped, size)
        try:
            text = raw.decode()
            messages, oversized = _read_messages(kind, text)
        except (UnicodeDecodeError, ValueError):
            return (*_error(400, "invalid_json", "Body is not valid JSON."), [], gzipped, size)
        if messages is None:
            return (*_error(400, "invalid_request", "No batch in body."), [], gzipped, size)
        if oversized:
            return (*_error(400, "too_large", "A message is over 32KB."), [], gzipped, size)
        reject = self._reject
        if reject is not None and any(reject(message) for message in messages):
            return (*_error(400, "invalid_request", "A message was refused."), [], gzipped, size)
        reply = json.dumps({"success": True}).encode()
        return 200, {"Content-Type": "application/json"}, reply, messages, gzipped, size

    def _take_failure(self) -> _PlannedFailure | None:
        with self._lock:
            if not self._failures:
                return None
            planned = self._failures[0]
            planned.remaining -= 1
            if planned.remaining <= 0:
                self._failures.pop(0)
            return planned

    def _authorised(self, headers: Mapping[str, str]) -> bool:
        if self.write_key is None:
            return True
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, separator, password = decoded.partition(":")
        return bool(separator) and password == "" and hmac.compare_digest(user, self.write_key)


def _error(status: int, code: str, message: str, extra: Mapping[str, str] | None = None) -> Reply:
    headers = {"Content-Type": "application/json", **(extra or {})}
    return status, headers, json.dumps({"code": code, "message": message}).encode()


def _decompress(body: bytes) -> bytes:
    # Inflate at most one byte past the limit so a gzip bomb cannot exhaust memory.
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    raw = inflater.decompress(body, MAX_BATCH_BYTES + 1)
    if len(raw) <= MAX_BATCH_BYTES and not inflater.eof:
        raise EOFError("truncated gzip body")
    return raw


_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's four whitespace characters
# What may follow an element of the batch array: a comma or the closing bracket.
_AFTER_ELEMENT = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")
_MAX_UTF8_BYTES_PER_CHARACTER = 4


def _read_messages(kind: str, text: str) -> tuple[list[dict[str, Any]] | None, bool]:
    """The messages of a request, and whether one is over 32 KB *as sent*; ValueError if
    the body is not JSON.

    A batch's elements are measured where they stand in the body, as Segment sees them,
    rather than re-serialised; each is parsed once. A top-level ``context`` applies to every
    message of the batch, as at Segment (a message's own context keys win).
    """
    if kind != "batch":
        payload = json.loads(text)
        if not isinstance(payload, dict):
            return None, False
        oversized = len(text.encode()) > MAX_MESSAGE_BYTES
        return [{**payload, "type": payload.get("type", kind)}], oversized
    messages: list[dict[str, Any]] = []
    oversized = False
    found = False
    shared: Any = None
    at = _expect(text, 0, "{")
    if _peek(text, at) == "}":
        at += 1
    else:
        while True:
            key, at = _DECODER.raw_decode(text, at)
            if not isinstance(key, str):
                raise ValueError("object keys must be text")
            at = _expect(text, at, ":")
            if key == "batch" and _peek(text, at) == "[":
                found = True
                at, over = _read_array(text, at + 1, messages)
                oversized = oversized or over
            elif key == "context":
                shared, at = _DECODER.raw_decode(text, at)
            else:
                _, at = _DECODER.raw_decode(text, at)
            at = _skip(text, at)
            if _peek(text, at) == ",":
                at = _skip(text, at + 1)
                continue
            at = _expect(text, at, "}")
            break
    if text[at:].strip():
        raise ValueError("text after the JSON object")
    if not found or not all(isinstance(m, dict) for m in messages):
        return None, False
    if isinstance(shared, dict):
        for message in messages:
            own = message.get("context")
            message["context"] = {**shared, **own} if isinstance(own, dict) else shared
    return messages, oversized


def _read_array(text: str, at: int, messages: list[Any]) -> tuple[int, bool]:
    """Parse the array's elements into ``messages``; (position after "]", any over 32 KB)."""
    # A character is 1 to 4 bytes in UTF-8, so an element of n characters is at most 4n
    # bytes: only an element longer than a quarter of the limit needs its bytes counted.
    width = 1 if text.isascii() else _MAX_UTF8_BYTES_PER_CHARACTER
    oversized = False
    at = _skip(text, at)
    if _peek(text, at) == "]":
        return at + 1, False
    parse = _DECODER.raw_decode
    after = _AFTER_ELEMENT.match
    while True:
        value, end = parse(text, at)
        messages.append(value)
        if (end - at) * width > MAX_MESSAGE_BYTES and not oversized:
            oversized = len(text[at:end].encode()) > MAX_MESSAGE_BYTES
        separator = after(text, end)
        if separator is None:
            raise ValueError("expected ',' or ']'")
        at = separator.end()
        if separator.group(1) == "]":
            return at, oversized


def _skip(text: str, at: int) -> int:
    """Position of the first non-space character at or after ``at``."""
    found = _SPACE.match(text, at)
    return found.end() if found is not None else at


def _peek(text: str, at: int) -> str:
    return text[at : at + 1]


def _expect(text: str, at: int, char: str) -> int:
    """Position after ``char`` (and any spaces) at ``at``; ValueError if it is not there."""
    at = _skip(text, at)
    if _peek(text, at) != char:
        raise ValueError(f"expected {char!r}")
    return _skip(text, at + 1)


class SegmentServer:
    """A ``SegmentFake`` served over HTTP on 127.0.0.1 (a context manager).

    ``endpoint`` is the base URL to put in the ``segment_endpoint`` setting; requests go to
    ``endpoint + "/v1/batch"``.
    """

    def __init__(self, fake: SegmentFake | None = None) -> None:
        self.fake = fake if fake is not None else SegmentFake()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """Base URL of the running server, e.g. ``http://127.0.0.1:54321``."""
        if self._server is None:
            raise RuntimeError("The Segment stand-in is not running.")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self, port: int = 0) -> SegmentServer:
        """Listen on 127.0.0.1:``port`` (0 picks a free port) in a background thread."""
        server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self.fake))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="segment-fake")
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and release any stalled request."""
        self.fake.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> SegmentServer:
        return self.start() if self._server is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _handler_for(fake: SegmentFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Segment's servers offer
        # Headers and body go out as separate writes; without this, Nagle + delayed ACK
        # would add ~40 ms to every reply and the stand-in would measure TCP, not clients.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            self._serve("POST")

        def do_GET(self) -> None:
            self._serve("GET")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, reply = fake.handle(method, self.path, dict(self.headers), body)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except ConnectionError:
                # The client went away (killed mid-request); what it sent still counts.
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: tests and benchmarks read the fake's own records

    return Handler
