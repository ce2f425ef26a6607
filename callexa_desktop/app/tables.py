"""What every table in the window shares: how a table view is set up, a read-only model
over a list of rows with fixed headers, and the search box that waits for a pause in typing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QByteArray,
    QModelIndex,
    QPersistentModelIndex,
    QSettings,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QStyle,
    QTableView,
    QWidget,
)

RowT = TypeVar("RowT")
AnyIndex = QModelIndex | QPersistentModelIndex

# Filter once the operator paused typing, not on every key.
SEARCH_DELAY_MS = 300

SelectionMode = QAbstractItemView.SelectionMode


def setup_table(
    table: QTableView,
    *,
    widths: Mapping[int, int],
    selection: QAbstractItemView.SelectionMode = SelectionMode.SingleSelection,
    sorted_by: tuple[int, Qt.SortOrder] | None = None,
) -> None:
    """Whole rows selected, one line per row at a fixed height, interactive columns of
    ``widths`` (column -> pixels) with the last one stretched; sortable when ``sorted_by``
    (the column and order the model is sorted by already) is given."""
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(selection)
    if sorted_by is not None:
        # The indicator first: enabling sorting then finds the order already in the query.
        table.horizontalHeader().setSortIndicator(*sorted_by)
        table.setSortingEnabled(True)
    table.setWordWrap(False)
    vertical = table.verticalHeader()
    vertical.hide()
    # Fixed row heights: the view never measures a million rows.
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(table.fontMetrics().height() + 8)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    for column, width in widths.items():
        header.resizeSection(column, width)


def fit_column(table: QTableView, column: int, texts: Iterable[str], least: int, most: int) -> None:
    """Make ``column`` as wide as the widest of ``texts`` and its header, kept within
    ``least`` and ``most`` pixels (a longer text is cut with "…" as usual)."""
    metrics = table.fontMetrics()
    header = table.horizontalHeader()
    # The cell's own margins and the focus frame: a few pixels either side of the text.
    padding = 2 * table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 12
    widest = max(
        [metrics.horizontalAdvance(text) + padding for text in texts]
        + [header.sectionSizeHint(column)]
    )
    header.resizeSection(column, max(least, min(most, widest)))


def show_sort_order(table: QTableView, column: int, descending: bool) -> None:
    """Put the sort indicator on ``column`` without asking the model to sort again."""
    if column < 0:
        return
    header = table.horizontalHeader()
    header.blockSignals(True)
    header.setSortIndicator(
        column, Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
    )
    header.blockSignals(False)


@dataclass(frozen=True)
class SavedTable:
    """What ``restore_table`` found: the order to query with, and whether the operator's
    own column widths came back."""

    order_by: str
    descending: bool
    widths_restored: bool


def save_table(settings: QSettings, table: QTableView, query: Any) -> None:
    """Keep ``table``'s columns (widths, positions) and ``query``'s order in the current
    settings group."""
    settings.setValue("header", table.horizontalHeader().saveState())
    settings.setValue("order_by", query.order_by)
    settings.setValue("descending", query.descending)


def restore_table(
    settings: QSettings, table: QTableView, *, order_by: str, descending: bool
) -> SavedTable:
    """Bring back what ``save_table`` kept in the current settings group; ``order_by`` and
    ``descending`` are the defaults when nothing was saved."""
    header = settings.value("header")
    restored = isinstance(header, QByteArray) and table.horizontalHeader().restoreState(header)
    saved_descending = settings.value("descending")
    return SavedTable(
        order_by=str(settings.value("order_by") or order_by),
        descending=descending
        if saved_descending is None
        else str(saved_descending).lower() == "true",
        widths_restored=restored,
    )


class ListTableModel(QAbstractTableModel, Generic[RowT]):
    """A read-only table over rows already in memory; subclasses set ``HEADERS`` and
    implement ``data``."""

    HEADERS: ClassVar[Sequence[str]] = ()

    def __init__(self, rows: Sequence[RowT] = ()) -> None:
        super().__init__()
        self._rows: Sequence[RowT] = rows

    def set_rows(self, rows: Sequence[RowT]) -> None:
        """Show ``rows`` instead of the rows shown so far."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> RowT | None:
        """The row object at ``row``, or None outside the table."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section] if 0 <= section < len(self.HEADERS) else None
        return None


class SearchBox(QLineEdit):
    """A search field ("Search email or name…") that emits ``typing_paused`` once the
    operator stopped typing for ``SEARCH_DELAY_MS``."""

    typing_paused = Signal()

    def __init__(self, *, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setPlaceholderText("Search email or name…")
        self.setClearButtonEnabled(True)
        self._pause = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._pause.timeout.connect(self.typing_paused)
        self.textChanged.connect(lambda _text: self._pause.start())

    def forget_pending(self) -> None:
        """The filter was applied another way: no late ``typing_paused`` for this text."""
        self._pause.stop()
