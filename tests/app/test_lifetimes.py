"""Qt objects die on the main thread, whatever order the workers finish in.

A worker job's closure often holds a model (the paged models read their rows in
``self``'s jobs). If a pool thread dropped the last reference to such a job, Qt would
delete the model on that thread, possibly while the main thread is deleting the
model's table: the table then disconnects from freed memory (the window tests'
segfault at the end of a customers-view test).
"""

from __future__ import annotations

import sys
import textwrap
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot
from sqlmodel import Session

from callexa_desktop.app.context import AppContext
from callexa_desktop.app.paged_model import Column, PagedTableModel
from tests.app.offscreen_script import run_offscreen


@dataclass(frozen=True)
class _Query:
    order_by: str = "number"
    descending: bool = False


class _NumbersModel(PagedTableModel[_Query, int]):
    """Three numbers; its reading worker waits at the very end of its run until allowed on."""

    COLUMNS: ClassVar = (Column("Number", "number"),)

    def __init__(self, context: AppContext, worker_may_end: threading.Event) -> None:
        super().__init__(context, _Query())
        self._worker_may_end = worker_may_end

    def count_rows(self, session: Session, query: _Query) -> int:
        # On the pool thread: hold it when its outermost Python call (the runnable's run)
        # returns, i.e. after it reported and just before its locals are let go.
        sys.setprofile(_hold_at_the_end(self._worker_may_end))
        return 3

    def fetch_rows(
        self, session: Session, query: _Query, offset: int, limit: int, reverse: bool
    ) -> list[int]:
        return list(range(offset, min(offset + limit, 3)))

    def display(self, row: int, column: int) -> Any:
        return str(row)


def _hold_at_the_end(worker_may_end: threading.Event) -> Callable[[FrameType, str, object], None]:
    """A profile function that holds its thread when the outermost Python call returns (it
    must not hold the model itself: that would be one more reference on the pool thread)."""

    def profile(frame: FrameType, event: str, _arg: object) -> None:
        if event == "return" and frame.f_back is None:
            sys.setprofile(None)
            worker_may_end.wait(10)

    return profile


def test_a_model_whose_table_is_gone_is_freed_on_the_main_thread_though_its_worker_ends_last(
    qtbot: QtBot, context: AppContext
) -> None:
    worker_may_end = threading.Event()
    freed_on: list[str] = []
    model = _NumbersModel(context, worker_may_end)
    table = QTableView()
    table.setModel(model)
    model.destroyed.connect(
        lambda *_: freed_on.append(threading.current_thread().name),
        Qt.ConnectionType.DirectConnection,
    )
    try:
        with qtbot.waitSignal(model.loaded):
            model.refresh()
        assert model.rowCount() == 3

        # The window lets go of the table and its model while the worker has not finished.
        del table, model
    finally:
        worker_may_end.set()
    assert context.page_pool.waitForDone(10_000)
    qtbot.waitUntil(lambda: bool(freed_on))

    assert freed_on == [threading.main_thread().name]


# The customers view over a real profile; its count worker is held at the end of its run
# until the table is being deleted (after the table let go of the model), then lets go.
SCRIPT = textwrap.dedent(
    """
    import sys, threading
    from pathlib import Path
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication
    from callexa_desktop.app.context import AppContext
    from callexa_desktop.app.customers_view import CustomersModel, CustomersView
    from callexa_desktop.core.profile import Profile

    app = QApplication([])
    worker_may_end = threading.Event()
    model_gone = threading.Event()

    def hold_at_the_end(frame, event, arg):
        if event == "return" and frame.f_back is None:
            sys.setprofile(None)
            worker_may_end.wait(10)

    count_rows = CustomersModel.count_rows

    def held_count_rows(self, session, query):
        sys.setprofile(hold_at_the_end)
        return count_rows(self, session, query)

    CustomersModel.count_rows = held_count_rows

    class TableGoing:
        # Kept in the table's wrapper: released while the table is deleted, after the
        # table let go of its model and before the table disconnects from it.
        def __del__(self):
            worker_may_end.set()
            model_gone.wait(5)

    profile = Profile.open(Path(sys.argv[1]))
    context = AppContext(profile)
    view = CustomersView(context)
    loaded = []
    view.model.loaded.connect(lambda: loaded.append(True))
    view.model.destroyed.connect(lambda *_: model_gone.set(), Qt.ConnectionType.DirectConnection)
    view.model.refresh()
    while not loaded:
        app.processEvents()
    view.table.going = TableGoing()
    del view
    worker_may_end.set()
    context.shutdown()
    profile.close()
    print("closed")
    """
)


def test_a_view_survives_its_worker_letting_go_while_the_view_is_deleted(tmp_path: Path) -> None:
    done = run_offscreen(SCRIPT, str(tmp_path / "profile"))

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "closed"
