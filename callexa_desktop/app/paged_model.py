"""A table model over a database query that loads rows in blocks, off the GUI thread.

Opening a million rows costs one count and one block: the view asks for the
rows it paints, the model loads the blocks they fall in on the page pool and
keeps the most recently used ones. Rows not loaded yet show a placeholder.
Sorting and filtering change the query and re-count (the database sorts, not
the model). Blocks in the second half are read from the other end, so the end
of a million rows is as quick to reach as the start.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from sqlmodel import Session

from callexa_desktop.app.context import AppContext
from callexa_desktop.app.workers import TaskError, WorkerControl

log = logging.getLogger(__name__)

RowT = TypeVar("RowT")
QueryT = TypeVar("QueryT")

AnyIndex = QModelIndex | QPersistentModelIndex

# The raw value a column sorts by (a datetime, a number), for proxies and tests.
SORT_KEY_ROLE = Qt.ItemDataRole.UserRole
# The whole row object (a QueueRow, a CustomerRow) behind an index, or None if not loaded.
ROW_ROLE = Qt.ItemDataRole.UserRole + 1

PLACEHOLDER = "…"


@dataclass(frozen=True)
class Column:
    """A column: its header and, when the database can sort by it, the order_by name."""

    header: str
    order_by: str | None = None


@dataclass(frozen=True)
class _Counted(Generic[RowT]):
    generation: int
    count: int
    first_block: list[RowT]


class PagedTableModel(QAbstractTableModel, Generic[QueryT, RowT]):
    """Base class; subclasses set ``COLUMNS`` and implement the four hooks below.

    ``count_rows(session, query)``, ``fetch_rows(session, query, offset, limit, reverse)``
    (``reverse`` asks for the same order backwards), ``display(row, column)`` and
    ``sort_key(row, column)``.
    """

    COLUMNS: ClassVar[Sequence[Column]] = ()
    BLOCK_SIZE = 200
    MAX_BLOCKS = 64
    # Keep only the most recent requests: while the scrollbar is dragged, old blocks are moot.
    MAX_PENDING = 4

    # Emitted after a (re)count, when rowCount() is known.
    loaded = Signal()
    # Emitted after a block arrived (its first row number).
    block_loaded = Signal(int)
    load_failed = Signal(object)

    def __init__(self, context: AppContext, query: QueryT) -> None:
        super().__init__()
        self._context = context
        self._query = query
        self._count = 0
        self._generation = 0
        self._blocks: OrderedDict[int, list[RowT]] = OrderedDict()
        self._pending: OrderedDict[int, None] = OrderedDict()
        self._block_in_flight: int | None = None
        self._counting = False
        self._count_again = False
        self._query_changed = True
        self._failed_generation = -1
        self._pump_timer = QTimer(self)
        self._pump_timer.setSingleShot(True)
        self._pump_timer.setInterval(0)
        self._pump_timer.timeout.connect(self._pump)

    # hooks -----------------------------------------------------------------

    def count_rows(self, session: Session, query: QueryT) -> int:
        raise NotImplementedError

    def fetch_rows(
        self, session: Session, query: QueryT, offset: int, limit: int, reverse: bool
    ) -> list[RowT]:
        raise NotImplementedError

    def display(self, row: RowT, column: int) -> Any:
        raise NotImplementedError

    def sort_key(self, row: RowT, column: int) -> Any:
        return self.display(row, column)

    def tooltip(self, row: RowT, column: int) -> str | None:
        return None

    # query -------------------------------------------------------------------

    @property
    def query(self) -> QueryT:
        return self._query

    def set_query(self, query: QueryT) -> None:
        """Show the rows of ``query`` (filters, order): re-counts in the background."""
        self._query = query
        self._query_changed = True
        self.refresh()

    def refresh(self) -> None:
        """Re-count and reload (after data changed); several calls in a row coalesce."""
        self._generation += 1
        if self._counting:
            self._count_again = True
            return
        self._start_count()

    @property
    def busy(self) -> bool:
        """True while a count or a block load is under way (tests and the bench wait on it)."""
        return self._counting or self._block_in_flight is not None or bool(self._pending)

    # Qt model interface ---------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.COLUMNS):
            return self.COLUMNS[section].header
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self._count:
            return None
        row = self.row_at(index.row())
        if row is None:
            if role == Qt.ItemDataRole.DisplayRole:
                self._want(index.row() // self.BLOCK_SIZE)
                return PLACEHOLDER if index.column() == 0 else ""
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row, index.column())
        if role == SORT_KEY_ROLE:
            return self.sort_key(row, index.column())
        if role == ROW_ROLE:
            return row
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.COLUMNS) or self.COLUMNS[column].order_by is None:
            return
        self.apply_sort(self.COLUMNS[column].order_by, order == Qt.SortOrder.DescendingOrder)

    def apply_sort(self, order_by: str | None, descending: bool) -> None:
        """Put the order into the query (a dataclass with ``order_by`` and ``descending``)."""
        if order_by is None:
            return
        sorted_query = replace(self._query, order_by=order_by, descending=descending)
        if sorted_query != self._query:
            self.set_query(sorted_query)

    def sort_column(self) -> int:
        """The column the current query is sorted by, or -1."""
        order_by = getattr(self._query, "order_by", None)
        for number, column in enumerate(self.COLUMNS):
            if column.order_by == order_by:
                return number
        return -1

    # rows -------------------------------------------------------------------

    def row_at(self, row: int) -> RowT | None:
        """The row object if its block is loaded, else None (and nothing is fetched)."""
        number = row // self.BLOCK_SIZE
        block = self._blocks.get(number)
        if block is None:
            return None
        self._blocks.move_to_end(number)
        offset = row % self.BLOCK_SIZE
        return block[offset] if offset < len(block) else None

    def rows_job(self, rows: Sequence[int]) -> Any:
        """A worker job that returns the row objects for ``rows`` (view row numbers).

        Loaded rows come from the cache, the rest from the database in contiguous
        ranges, so a selection of any size resolves without blocking the window.
        """
        query, count = self._query, self._count
        known = {row: self.row_at(row) for row in rows}
        missing = sorted(row for row, value in known.items() if value is None and row < count)

        def job(control: WorkerControl) -> list[RowT]:
            fetched: dict[int, RowT] = {}
            with self._context.profile.database.session() as session:
                for start, stop in _ranges(missing):
                    control.check_cancelled()
                    chunk = self._read(session, query, count, start, stop - start)
                    fetched.update(zip(range(start, stop), chunk, strict=False))
            resolved = [known[row] or fetched.get(row) for row in rows]
            return [value for value in resolved if value is not None]

        return job

    # loading ------------------------------------------------------------------

    def _start_count(self) -> None:
        self._counting = True
        self._count_again = False
        generation, query = self._generation, self._query

        def job(_control: WorkerControl) -> _Counted[RowT]:
            with self._context.profile.database.session() as session:
                count = self.count_rows(session, query)
                first = self.fetch_rows(session, query, 0, min(self.BLOCK_SIZE, count), False)
            return _Counted(generation, count, first)

        self._context.run(
            job,
            description="reading the list",
            on_result=self._counted,
            on_error=self._count_failed,
            pool=self._context.page_pool,
        )

    def _counted(self, result: _Counted[RowT]) -> None:
        self._counting = False
        if self._count_again or result.generation != self._generation:
            self._start_count()
            return
        keep_view = not self._query_changed and result.count == self._count
        self._query_changed = False
        if keep_view:
            # Same rows, fresher values: repaint without losing the selection or scroll position.
            self._install_first_block(result)
            if self._count:
                self.dataChanged.emit(
                    self.index(0, 0), self.index(self._count - 1, len(self.COLUMNS) - 1)
                )
        else:
            self.beginResetModel()
            self._count = result.count
            self._install_first_block(result)
            self.endResetModel()
        self.loaded.emit()

    def _install_first_block(self, result: _Counted[RowT]) -> None:
        self._blocks.clear()
        self._pending.clear()
        if result.first_block:
            self._blocks[0] = result.first_block

    def _count_failed(self, error: TaskError) -> None:
        self._counting = False
        if self._count_again:
            self._start_count()
            return
        self.load_failed.emit(error)
        self._context.report_error(error)

    def _want(self, block: int) -> None:
        if block in self._blocks or block == self._block_in_flight or self._counting:
            return
        if self._failed_generation == self._generation:
            return  # one error dialog per failure, not one per painted row
        self._pending.pop(block, None)
        self._pending[block] = None
        while len(self._pending) > self.MAX_PENDING:
            self._pending.popitem(last=False)
        self._pump_timer.start()

    def _pump(self) -> None:
        if self._block_in_flight is not None or self._counting or not self._pending:
            return
        block, _ = self._pending.popitem(last=True)
        if block in self._blocks:
            self._pump()
            return
        self._block_in_flight = block
        generation, query, count = self._generation, self._query, self._count
        start = block * self.BLOCK_SIZE
        limit = min(self.BLOCK_SIZE, count - start)

        def job(_control: WorkerControl) -> tuple[int, int, list[RowT]]:
            with self._context.profile.database.session() as session:
                return generation, block, self._read(session, query, count, start, limit)

        self._context.run(
            job,
            description="reading the list",
            on_result=self._block_arrived,
            on_error=self._block_failed,
            pool=self._context.page_pool,
        )

    def _read(
        self, session: Session, query: QueryT, count: int, start: int, limit: int
    ) -> list[RowT]:
        if limit <= 0:
            return []
        if start > count // 2:
            # Walking a million-row index from the far end is cheaper than a huge OFFSET.
            rows = self.fetch_rows(session, query, max(0, count - start - limit), limit, True)
            rows.reverse()
            return rows
        return self.fetch_rows(session, query, start, limit, False)

    def _block_arrived(self, result: tuple[int, int, list[RowT]]) -> None:
        generation, block, rows = result
        self._block_in_flight = None
        if generation == self._generation and not self._counting:
            self._blocks[block] = rows
            while len(self._blocks) > self.MAX_BLOCKS:
                self._blocks.popitem(last=False)
            first = block * self.BLOCK_SIZE
            last = min(first + len(rows), self._count) - 1
            if last >= first:
                self.dataChanged.emit(self.index(first, 0), self.index(last, len(self.COLUMNS) - 1))
            self.block_loaded.emit(first)
        self._pump()

    def _block_failed(self, error: TaskError) -> None:
        self._block_in_flight = None
        self._pending.clear()
        self._failed_generation = self._generation
        self.load_failed.emit(error)
        self._context.report_error(error)


def _ranges(rows: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted row numbers as half-open contiguous ranges: [1, 2, 3, 7] -> [(1, 4), (7, 8)]."""
    ranges: list[tuple[int, int]] = []
    for row in rows:
        if ranges and ranges[-1][1] == row:
            ranges[-1] = (ranges[-1][0], row + 1)
        else:
            ranges.append((row, row + 1))
    return ranges
