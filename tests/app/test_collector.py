"""While the window runs, cyclic garbage is collected on the GUI thread, never a worker's."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest
from pytestqt.qtbot import QtBot

from callexa_desktop.app.collector import MainThreadCollector


class _Cycle:
    """Refers to itself, so only the cyclic collector frees it; notes the thread that did."""

    freed_on: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _Cycle.freed_on.append(threading.current_thread().name)


@pytest.fixture
def collector(qapp: object) -> Iterator[MainThreadCollector]:
    was_enabled = gc.isenabled()
    collector = MainThreadCollector(interval_ms=10)
    yield collector
    collector.stop()
    collector.deleteLater()
    assert gc.isenabled() == was_enabled


def test_automatic_collection_is_off_while_started_and_back_after(
    collector: MainThreadCollector,
) -> None:
    gc.enable()
    collector.start()
    assert not gc.isenabled()
    collector.stop()
    assert gc.isenabled()


def test_a_cycle_dropped_on_a_worker_is_freed_on_the_gui_thread(
    collector: MainThreadCollector, qtbot: QtBot
) -> None:
    _Cycle.freed_on.clear()
    collector.start()

    cycles = gc.get_threshold()[0] + 10

    def worker() -> None:
        # Garbage only the cyclic collector can free, past the youngest generation's
        # threshold: with collection automatic it would be freed here, on the worker.
        for _ in range(cycles):
            _Cycle()

    thread = threading.Thread(target=worker, name="a-worker")
    thread.start()
    thread.join()
    assert _Cycle.freed_on == []  # nobody collected on the worker

    qtbot.waitUntil(lambda: len(_Cycle.freed_on) == cycles, timeout=5000)
    assert set(_Cycle.freed_on) == {threading.main_thread().name}


def test_nothing_is_collected_below_the_youngest_threshold(
    collector: MainThreadCollector,
) -> None:
    collector.start()
    gc.collect()  # counts start from zero
    assert collector.collect_due() == -1


def test_the_oldest_generation_past_its_threshold_is_collected(
    collector: MainThreadCollector,
) -> None:
    collector.start()
    young, middle, _ = gc.get_threshold()
    gc.collect()  # counts start from zero
    keep: list[list[object]] = []
    for _ in range(middle + 1):  # each young collection counts once towards the middle one
        keep.extend([] for _ in range(young + 10))
        assert collector.collect_due() == 0
    keep.extend([] for _ in range(young + 10))
    assert collector.collect_due() == 1
    assert gc.get_count()[1] == 0
