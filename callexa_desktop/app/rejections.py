"""Rejected records of an import run: a table that loads them as the operator scrolls,
and saving them all as CSV in the background.

The records stream from ``iter_rejections`` (one open read held by the model,
advanced a chunk at a time on the page pool), so millions never load at once.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import QTableView, QWidget
from sqlmodel import Session

from callexa_desktop.app.context import AppContext
from callexa_desktop.app.tables import ListTableModel, SelectionMode, setup_table
from callexa_desktop.app.workers import Task, TaskError, WorkerControl
from callexa_desktop.core.errors import CallexaError
from callexa_desktop.core.importing import iter_rejections

log = logging.getLogger(__name__)

AnyIndex = QModelIndex | QPersistentModelIndex

CSV_HEADER = ("file", "line", "reason", "detail")
# Spreadsheets run cells starting with these as formulas; rejected input is untrusted.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class RejectedRow:
    file: str
    line: int | None
    reason: str
    detail: str


class _RejectionFeed:
    """An open read over one run's rejections, advanced a chunk at a time (one thread at a time)."""

    def __init__(self, context: AppContext, run_id: int) -> None:
        self._session = Session(context.profile.database.engine)
        self._rows: Iterator[Any] = iter_rejections(self._session, run_id)

    def next_chunk(self, size: int) -> list[RejectedRow]:
        chunk = []
        for rejection in self._rows:
            chunk.append(
                RejectedRow(rejection.source, rejection.line, rejection.reason, rejection.detail)
            )
            if len(chunk) >= size:
                break
        return chunk

    def close(self) -> None:
        close = getattr(self._rows, "close", None)
        if close is not None:
            close()
        self._session.close()


class RejectionsModel(ListTableModel[RejectedRow]):
    """File, line, reason, detail; more rows are fetched as the view scrolls down."""

    FILE, LINE, REASON, DETAIL = range(4)
    HEADERS: ClassVar = ("File", "Line", "Reason", "Detail")
    CHUNK = 500

    chunk_loaded = Signal()

    def __init__(self, context: AppContext, run_id: int, total: int) -> None:
        self._rows: list[RejectedRow] = []
        super().__init__(self._rows)
        self._context = context
        self.run_id = run_id
        self.total = total
        self._feed: _RejectionFeed | None = None
        self._loading = False
        self._closed = False
        self._exhausted = total == 0

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return (
                row.file,
                "" if row.line is None else str(row.line),
                row.reason,
                row.detail,
            )[index.column()]
        return None

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._exhausted or self._loading:
            return
        self._loading = True
        if self._feed is None:
            self._feed = _RejectionFeed(self._context, self.run_id)
        feed = self._feed

        def job(_control: WorkerControl) -> list[RejectedRow]:
            return feed.next_chunk(self.CHUNK)

        self._context.run(
            job,
            description="reading the rejected records",
            on_result=self._chunk_arrived,
            on_error=self._chunk_failed,
            pool=self._context.page_pool,
        )

    @property
    def busy(self) -> bool:
        return self._loading

    def close(self) -> None:
        """Release the open read (the dialog closes); a chunk in flight releases it on arrival."""
        self._closed = True
        self._exhausted = True
        if not self._loading:
            self._release_feed()

    def _release_feed(self) -> None:
        if self._feed is not None:
            self._feed.close()
            self._feed = None

    def _chunk_arrived(self, chunk: list[RejectedRow]) -> None:
        self._loading = False
        if self._closed:
            self._release_feed()
            return
        if len(chunk) < self.CHUNK:
            self._exhausted = True
            self._release_feed()
        if chunk:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(chunk) - 1)
            self._rows.extend(chunk)
            self.endInsertRows()
        self.chunk_loaded.emit()

    def _chunk_failed(self, error: TaskError) -> None:
        self._loading = False
        self._exhausted = True
        self._release_feed()
        self._context.report_error(error)


class RejectionsTable(QTableView):
    """A read-only table of one run's rejected records."""

    def __init__(
        self, context: AppContext, run_id: int, total: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("rejectionsTable")
        self.rejections = RejectionsModel(context, run_id, total)
        self.setModel(self.rejections)
        setup_table(
            self,
            widths={
                RejectionsModel.FILE: 220,
                RejectionsModel.LINE: 60,
                RejectionsModel.REASON: 160,
            },
            selection=SelectionMode.ExtendedSelection,
        )
        if total:
            self.rejections.fetchMore()


def save_rejections_csv(context: AppContext, run_id: int, target: Path) -> Task:
    """Write every rejected record of ``run_id`` to ``target`` (file, line, reason, detail).

    Runs in a worker; the result is the number of rows written. The file appears
    only complete (written to a temporary name, then renamed).
    """

    def job(control: WorkerControl) -> int:
        partial = target.with_name(target.name + ".partial")
        written = 0
        try:
            with (
                context.profile.database.session() as session,
                # A byte-order mark, so a spreadsheet reads the file as UTF-8.
                partial.open("w", newline="", encoding="utf-8-sig") as handle,
            ):
                writer = csv.writer(handle)
                writer.writerow(CSV_HEADER)
                for rejection in iter_rejections(session, run_id):
                    writer.writerow(
                        [
                            _cell(rejection.source),
                            "" if rejection.line is None else rejection.line,
                            _cell(rejection.reason),
                            _cell(rejection.detail),
                        ]
                    )
                    written += 1
                    if written % 1000 == 0:
                        control.check_cancelled()
                        control.report(written)
            os.replace(partial, target)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise CallexaError(
                f"The rejected records could not be saved to {target}: {error.strerror or error}."
            ) from error
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return written

    return context.run(job, description=f"saving the rejected records to {target.name}")


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text
