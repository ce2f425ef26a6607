"""A Segment stand-in on 127.0.0.1 that misbehaves on cue, for retry tests.

Each request takes the next step of a script: answer an HTTP status (with headers), drop
the connection without a reply, stall until the test lets go (the client times out), or
pass the request to a real ``SegmentFake``. Every request's messageIds are recorded, the
failed ones too, so a test can check that retries carried the same ids.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from callexa_desktop.services.sandbox.segment import SegmentFake

PASS = "pass"
DROP = "drop"
STALL = "stall"


@dataclass(frozen=True)
class Status:
    code: int
    headers: dict[str, str] = field(default_factory=dict)


Step = str | Status


class FaultServer:
    """Use as a context manager; ``endpoint`` is the base URL for the client."""

    def __init__(self, script: list[Step] | None = None, write_key: str | None = None) -> None:
        self.fake = SegmentFake(write_key)
        self.script: deque[Step] = deque(script or [])
        self.attempts: list[list[str]] = []  # messageIds of every request, in arrival order
        self.steps_taken: list[str] = []
        self.request_arrived = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.fake.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _next_step(self, ids: list[str]) -> Step:
        with self._lock:
            self.attempts.append(ids)
            step = self.script.popleft() if self.script else PASS
            self.steps_taken.append(step if isinstance(step, str) else str(step.code))
            return step

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                step = server._next_step(_message_ids(body, self.headers))
                server.request_arrived.set()
                if step == DROP:
                    # Close without a reply, as a broken connection or a crashed proxy would.
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if step == STALL:
                    server.release.wait(timeout=60)
                    self.close_connection = True
                    return
                if isinstance(step, Status):
                    reply = json.dumps({"code": "scripted", "message": "Scripted."}).encode()
                    self._send(step.code, step.headers, reply)
                    return
                status, headers, reply = server.fake.handle(
                    "POST", self.path, dict(self.headers), body
                )
                self._send(status, headers, reply)

            def _send(self, status: int, headers: dict[str, str], reply: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


def _message_ids(body: bytes, headers: Any) -> list[str]:
    try:
        raw = gzip.decompress(body) if headers.get("Content-Encoding") == "gzip" else body
        return [str(m.get("messageId")) for m in json.loads(raw).get("batch", [])]
    except (OSError, ValueError, AttributeError):
        return []


class FakeTime:
    """``sleep`` and ``monotonic`` for the client: sleeping only moves this clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now
