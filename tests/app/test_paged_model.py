"""The paged model counts once, loads only the blocks a view asks for, and re-queries to sort."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from pytestqt.qtbot import QtBot
from sqlmodel import Session

from callexa_desktop.app.context import AppContext
from callexa_desktop.app.paged_model import PLACEHOLDER, ROW_ROLE, Column, PagedTableModel


@dataclass(frozen=True)
class NumberQuery:
    even_only: bool = False
    order_by: str | None = "value"
    descending: bool = False


class NumberModel(PagedTableModel[NumberQuery, int]):
    """Rows are the numbers 0..size-1; records every database call it would have made."""

    COLUMNS: ClassVar = (Column("Value", "value"), Column("Square"))
    BLOCK_SIZE = 10

    def __init__(self, context: AppContext, size: int) -> None:
        self.size = size
        self.fetches: list[tuple[int, int, bool]] = []
        super().__init__(context, NumberQuery())

    def _numbers(self, query: NumberQuery) -> list[int]:
        numbers = [n for n in range(self.size) if not query.even_only or n % 2 == 0]
        return numbers[::-1] if query.descending else numbers

    def count_rows(self, session: Session, query: NumberQuery) -> int:
        return len(self._numbers(query))

    def fetch_rows(
        self, session: Session, query: NumberQuery, offset: int, limit: int, reverse: bool
    ) -> list[int]:
        self.fetches.append((offset, limit, reverse))
        numbers = self._numbers(replace(query, descending=query.descending != reverse))
        return numbers[offset : offset + limit]

    def display(self, row: int, column: int) -> Any:
        return str(row) if column == 0 else str(row * row)

    def apply_sort(self, order_by: str | None, descending: bool) -> None:
        self.set_query(replace(self.query, order_by=order_by, descending=descending))


def _loaded(qtbot: QtBot, context: AppContext, size: int) -> NumberModel:
    model = NumberModel(context, size)
    with qtbot.waitSignal(model.loaded):
        model.refresh()
    return model


def test_opening_counts_and_loads_only_the_first_block(qtbot: QtBot, context: AppContext) -> None:
    model = _loaded(qtbot, context, 1000)

    assert model.rowCount() == 1000
    assert model.fetches == [(0, 10, False)]
    assert model.data(model.index(3, 1)) == "9"


def test_an_unloaded_row_shows_a_placeholder_then_its_value(
    qtbot: QtBot, context: AppContext
) -> None:
    model = _loaded(qtbot, context, 1000)
    index = model.index(123, 0)

    assert model.data(index) == PLACEHOLDER
    with qtbot.waitSignal(model.block_loaded):
        pass
    assert model.data(index) == "123"
    assert model.data(index, ROW_ROLE) == 123


def test_rows_near_the_end_are_read_backwards_from_the_end(
    qtbot: QtBot, context: AppContext
) -> None:
    model = _loaded(qtbot, context, 1005)

    model.data(model.index(1004, 0))
    qtbot.waitUntil(lambda: not model.busy)

    assert model.fetches[-1] == (0, 5, True)
    assert [model.data(model.index(r, 0)) for r in (1000, 1004)] == ["1000", "1004"]


def test_sorting_by_a_header_re_queries_in_the_new_order(qtbot: QtBot, context: AppContext) -> None:
    from PySide6.QtCore import Qt

    model = _loaded(qtbot, context, 50)
    with qtbot.waitSignal(model.loaded):
        model.sort(0, Qt.SortOrder.DescendingOrder)

    assert model.data(model.index(0, 0)) == "49"


def test_a_column_the_database_cannot_sort_by_is_left_alone(
    qtbot: QtBot, context: AppContext
) -> None:
    from PySide6.QtCore import Qt

    model = _loaded(qtbot, context, 50)
    model.sort(1, Qt.SortOrder.DescendingOrder)

    assert not model.busy
    assert model.query == NumberQuery()


def test_a_filter_changes_the_count(qtbot: QtBot, context: AppContext) -> None:
    model = _loaded(qtbot, context, 50)
    with qtbot.waitSignal(model.loaded):
        model.set_query(NumberQuery(even_only=True))

    assert model.rowCount() == 25
    assert model.data(model.index(1, 0)) == "2"


def test_selected_rows_resolve_in_a_worker_even_when_not_loaded(
    qtbot: QtBot, context: AppContext
) -> None:
    model = _loaded(qtbot, context, 1000)
    task = context.run(model.rows_job([2, 500, 501, 999]), description="testing")
    with qtbot.waitSignal(task.finished):
        pass

    assert task.result == [2, 500, 501, 999]


def test_refresh_with_the_same_count_keeps_the_rows_in_place(
    qtbot: QtBot, context: AppContext
) -> None:
    model = _loaded(qtbot, context, 30)
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    with qtbot.waitSignal(model.loaded):
        model.refresh()

    assert resets == []
    model.size = 40
    with qtbot.waitSignal(model.loaded):
        model.refresh()
    assert resets == [True]
    assert model.rowCount() == 40
