"""The sandbox's HTTP server on 127.0.0.1, and the faults tests can make it inject.

Requests under ``/callexa/`` go to a ``CallexaFake``, requests under ``/v1/`` to a
``SegmentFake``. Before (or after) a fake answers, a planned ``Fault`` may replace
the answer with an error status, drop the connection without a reply, or hold the
request until a test releases it (setting an event when it arrives, so a test waits
for a signal rather than a sleep).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

Reply = tuple[int, dict[str, str], bytes]
Handle = Callable[[str, str, Mapping[str, str], bytes], Reply]

CALLEXA_PREFIX = "/callexa"
SEGMENT_PREFIX = "/v1/"
# A held request is let go after this long at the latest, so a forgotten release
# cannot hang a test run or the sandbox.
MAX_HOLD_SECONDS = 120.0


class FaultKind:
    STATUS = "status"  # answer with an error status instead of the fake
    DROP = "drop"  # close the connection without any reply
    HOLD = "hold"  # keep the request waiting until released


@dataclass(eq=False)
class Fault:
    """One planned misbehaviour for the next ``times`` requests whose path starts with
    ``path`` (after ``skip`` matching requests went through untouched).

    ``after_handling``: the fake handles the request first (the email "goes out") and the
    fault then hits the reply — the case of a lost or late acknowledgement.
    """

    kind: str
    path: str = CALLEXA_PREFIX + "/"
    method: str | None = None
    times: int = 1
    skip: int = 0
    status: int = 503
    retry_after: str | None = None
    body: Mapping[str, Any] | None = None
    after_handling: bool = False
    hits: int = 0
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        """Let held requests carry on (they are then answered normally)."""
        self.released.set()

    def wait_arrived(self, timeout: float = 30.0) -> bool:
        """Block until a request hit this fault; False if none did within ``timeout``."""
        return self.arrived.wait(timeout)

    def reply(self) -> Reply:
        headers = {"Content-Type": "application/json"}
        if self.retry_after is not None:
            headers["Retry-After"] = self.retry_after
        body = self.body or {"error": {"code": "simulated", "message": "Simulated failure."}}
        return self.status, headers, json.dumps(body).encode()


class Faults:
    """The planned faults, consumed in order by matching requests. Thread-safe."""

    def __init__(self) -> None:
        self._planned: list[Fault] = []
        self._lock = threading.Lock()

    def fail_next(
        self,
        count: int = 1,
        status: int = 503,
        *,
        retry_after: str | None = None,
        body: Mapping[str, Any] | None = None,
        path: str = CALLEXA_PREFIX + "/",
        skip: int = 0,
    ) -> Fault:
        """Answer the next ``count`` matching requests with ``status`` (and Retry-After)."""
        return self.add(
            Fault(
                FaultKind.STATUS,
                path=path,
                times=count,
                skip=skip,
                status=status,
                retry_after=retry_after,
                body=body,
            )
        )

    def drop_next(
        self,
        count: int = 1,
        *,
        after_handling: bool = False,
        path: str = CALLEXA_PREFIX + "/",
        skip: int = 0,
    ) -> Fault:
        """Close the connection of the next ``count`` matching requests without replying."""
        return self.add(
            Fault(FaultKind.DROP, path=path, times=count, skip=skip, after_handling=after_handling)
        )

    def hold_next(
        self,
        count: int = 1,
        *,
        after_handling: bool = True,
        path: str = CALLEXA_PREFIX + "/",
        skip: int = 0,
    ) -> Fault:
        """Hold the next ``count`` matching requests until ``fault.release()``.

        ``fault.arrived`` is set when the first one is being held.
        """
        return self.add(
            Fault(FaultKind.HOLD, path=path, times=count, skip=skip, after_handling=after_handling)
        )

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._planned.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The fault that applies to this request, if any (counting it as used)."""
        with self._lock:
            for fault in self._planned:
                if not path.startswith(fault.path):
                    continue
                if fault.method is not None and fault.method.upper() != method.upper():
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.hits += 1
                if fault.hits >= fault.times:
                    self._planned.remove(fault)
                return fault
            return None

    def release_all(self) -> None:
        with self._lock:
            planned = list(self._planned)
            self._planned.clear()
        for fault in planned:
            fault.release()

    def clear(self) -> None:
        with self._lock:
            self._planned.clear()


class SandboxHTTPServer(ThreadingHTTPServer):
    """The threaded server; remembers held faults so ``stop`` can release them."""

    daemon_threads = True

    def __init__(self, port: int, callexa: Handle, segment: Handle, faults: Faults) -> None:
        self.callexa = callexa
        self.segment = segment
        self.faults = faults
        self.held: list[Fault] = []
        self.held_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _SandboxHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that vanished mid-reply (killed, timed out) is normal here.
        log.debug("sandbox connection from %s ended abruptly", client_address, exc_info=True)

    def release_held(self) -> None:
        with self.held_lock:
            held = list(self.held)
        for fault in held:
            fault.release()


class _SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real services offer
    server: SandboxHTTPServer

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers)
        fault = self.server.faults.take(method, self.path)
        if fault is not None and not fault.after_handling:
            if not self._apply(fault):
                return
            if fault.kind == FaultKind.STATUS:
                self._write(fault.reply())
                return
        reply = self._route(method, headers, body)
        if fault is not None and fault.after_handling:
            if not self._apply(fault):
                return
            if fault.kind == FaultKind.STATUS:
                reply = fault.reply()
        self._write(reply)

    def _apply(self, fault: Fault) -> bool:
        """Carry out a drop or hold; False when the connection was dropped."""
        if fault.kind == FaultKind.DROP:
            fault.arrived.set()
            self.close_connection = True
            return False
        if fault.kind == FaultKind.HOLD:
            with self.server.held_lock:
                self.server.held.append(fault)
            fault.arrived.set()
            fault.released.wait(MAX_HOLD_SECONDS)
        return True

    def _route(self, method: str, headers: Mapping[str, str], body: bytes) -> Reply:
        path = self.path
        if path == CALLEXA_PREFIX or path.startswith((CALLEXA_PREFIX + "/", CALLEXA_PREFIX + "?")):
            return self.server.callexa(method, path[len(CALLEXA_PREFIX) :] or "/", headers, body)
        if path.startswith(SEGMENT_PREFIX):
            return self.server.segment(method, path, headers, body)
        if method == "GET" and path in ("/", ""):
            text = "Callexa Desktop sandbox: Callexa API under /callexa, Segment under /v1.\n"
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()
        message = {"error": {"code": "not_found", "message": "No such route in the sandbox."}}
        return 404, {"Content-Type": "application/json"}, json.dumps(message).encode()

    def _write(self, reply: Reply) -> None:
        status, headers, body = reply
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: tests read the fakes' own records; never log request headers
