"""Python's cyclic garbage collector, run on the GUI thread only while the window is open.

Left automatic, the collector runs in whichever thread happens to allocate when a threshold
is crossed — as often as not an import, sync or table worker — and a Qt object caught in a
reference cycle (a dialog and a slot that refers back to it, a model and a closure holding
it) is then destroyed on that worker thread, which Qt does not allow: its destructor can
race the GUI thread and crash the process. So while the window runs, automatic collection
is off and a timer on the GUI thread collects the generations whose thresholds were
crossed, as the interpreter itself would have. Garbage without cycles is unaffected (it is
freed by reference counting as always); cyclic garbage waits at most one tick.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_INTERVAL_MS = 1000


class MainThreadCollector(QObject):
    """Turns automatic collection off while started, and collects from a GUI-thread timer."""

    def __init__(self, interval_ms: int = CHECK_INTERVAL_MS, parent: QObject | None = None):
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_due)
        self._was_enabled = gc.isenabled()

    def start(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Stop the timer and give collection back to the interpreter as it was."""
        self._timer.stop()
        if self._was_enabled:
            gc.enable()

    def collect_due(self) -> int:
        """Collect the oldest generation whose threshold was crossed; returns it, or -1."""
        young, middle, old = gc.get_count()
        young_limit, middle_limit, old_limit = gc.get_threshold()
        if young_limit == 0 or young <= young_limit:
            return -1
        generation = 0
        if middle > middle_limit:
            generation = 2 if old > old_limit else 1
        gc.collect(generation)
        return generation
