"""A local stand-in for Callexa and Segment, for rehearsal, demos and tests.

``Sandbox`` serves a ``CallexaFake`` under ``/callexa`` and a ``SegmentFake`` under
``/v1`` on 127.0.0.1, in a background thread::

    with Sandbox() as sandbox:
        settings: callexa_base_url = sandbox.callexa_base_url
                  segment_endpoint = sandbox.segment_endpoint

It is never the default target of a real profile; only a demo profile, a test, or an
operator who points the settings at it talks to it.
"""

from __future__ import annotations

import threading
from types import TracebackType

from callexa_desktop.core.clock import Clock, utc_now
from callexa_desktop.services.sandbox.callexa import CallexaFake, SandboxEmail
from callexa_desktop.services.sandbox.segment import SegmentFake
from callexa_desktop.services.sandbox.server import (
    CALLEXA_PREFIX,
    Fault,
    FaultKind,
    Faults,
    SandboxHTTPServer,
)

__all__ = ["CallexaFake", "Fault", "FaultKind", "Faults", "Sandbox", "SandboxEmail", "SegmentFake"]


class Sandbox:
    """The local Callexa + Segment server. ``start(port)`` (0 = any free port), ``stop()``.

    ``callexa_api_key`` / ``segment_write_key``: None accepts any non-empty key, a value
    only that key. ``monthly_budget`` None: no Callexa budget. ``clock`` stamps the
    sandbox's emails and replies; ``seed`` makes simulated replies repeatable.
    """

    def __init__(
        self,
        *,
        callexa_api_key: str | None = None,
        segment_write_key: str | None = None,
        monthly_budget: int | None = None,
        clock: Clock = utc_now,
        seed: int = 0,
    ) -> None:
        self.callexa = CallexaFake(
            api_key=callexa_api_key, monthly_budget=monthly_budget, clock=clock, seed=seed
        )
        self.segment = SegmentFake(write_key=segment_write_key)
        self.faults = Faults()
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, port: int = 0) -> Sandbox:
        """Listen on 127.0.0.1:``port`` in a daemon thread; returns self.

        Raises OSError when the port is taken.
        """
        if self._server is not None:
            return self
        server = SandboxHTTPServer(port, self.callexa.handle, self.segment.handle, self.faults)
        self._server = server
        # A short poll interval so stop() returns promptly (tests start many sandboxes).
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="callexa-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; held requests and stalled Segment requests are let go."""
        server, self._server = self._server, None
        self.faults.release_all()
        self.segment.release()
        if server is not None:
            server.release_held()
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("The sandbox is not running.")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running sandbox."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def callexa_base_url(self) -> str:
        """The value for the ``callexa_base_url`` setting."""
        return self.url + CALLEXA_PREFIX

    @property
    def segment_endpoint(self) -> str:
        """The value for the ``segment_endpoint`` setting (Segment's paths start with /v1)."""
        return self.url

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
