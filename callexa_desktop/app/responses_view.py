"""The Responses tab: the operator's offline review of what customers answered.

From top to bottom: the summary band (score, counts, open follow-ups, the period that
the whole tab looks at), the rating distribution and the score trend, the filters and
Export…, then the responses table beside the detail pane where follow-ups are handled.
Every read and write runs in a worker through ``core.review``, the same functions as
``callexa-desktop responses report|list|export|follow-up``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from sqlmodel import Session

from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.paged_model import AnyIndex, Column, PagedTableModel
from callexa_desktop.app.review_charts import (
    DistributionChart,
    TrendChart,
    chart_points,
    rating_colour,
    responses_text,
)
from callexa_desktop.app.review_detail import KEEP, ResponseDetail
from callexa_desktop.app.review_export import ExportController
from callexa_desktop.app.review_summary import DEFAULT_PERIOD, SummaryBand
from callexa_desktop.app.tables import (
    SearchBox,
    SelectionMode,
    restore_table,
    save_table,
    setup_table,
    show_sort_order,
)
from callexa_desktop.app.time_text import local_time, local_time_with_hint
from callexa_desktop.app.workers import Task, TaskError, WorkerControl
from callexa_desktop.core.review import (
    ORDER_KEYS,
    Category,
    FollowUp,
    NpsSummary,
    ReviewFilter,
    ReviewRow,
    TrendPoint,
    count_responses,
    list_responses,
    local_time_zone,
    nps_summary,
    nps_trend,
    set_follow_up,
)

STATE_GROUP = "responses"

CATEGORY_FILTERS: tuple[tuple[str, str | None], ...] = (
    ("All ratings", None),
    ("Promoters (9–10)", Category.PROMOTER),
    ("Passives (7–8)", Category.PASSIVE),
    ("Detractors (0–6)", Category.DETRACTOR),
)
FOLLOW_UP_FILTERS: tuple[tuple[str, str | None], ...] = (
    ("Any follow-up", None),
    ("Follow-up to do", FollowUp.OPEN),
    ("Follow-up done", FollowUp.DONE),
)
FOLLOW_UP_CELLS = {FollowUp.OPEN: "To do", FollowUp.DONE: "Done", None: ""}


@dataclass(frozen=True)
class ReviewQuery:
    """The table's query: which responses (``filter``) and in which order."""

    filter: ReviewFilter = field(default_factory=ReviewFilter)
    order_by: str = "answered_at"
    descending: bool = True


@dataclass(frozen=True)
class _Overview:
    generation: int
    summary: NpsSummary
    trend: list[TrendPoint]


class ResponsesModel(PagedTableModel[ReviewQuery, ReviewRow]):
    """Answered (local time), customer, rating, comment (one line), follow-up."""

    ANSWERED, CUSTOMER, RATING, COMMENT, FOLLOW_UP = range(5)
    COLUMNS: ClassVar = (
        Column("Answered", "answered_at"),
        Column("Customer", "email"),
        Column("Rating", "rating"),
        Column("Comment"),
        Column("Follow-up", "follow_up"),
    )

    def __init__(self, context: AppContext) -> None:
        super().__init__(context, ReviewQuery())

    def count_rows(self, session: Session, query: ReviewQuery) -> int:
        return count_responses(session, query.filter)

    def fetch_rows(
        self, session: Session, query: ReviewQuery, offset: int, limit: int, reverse: bool
    ) -> list[ReviewRow]:
        return list_responses(
            session,
            query.filter,
            order_by=query.order_by,
            descending=query.descending != reverse,
            offset=offset,
            limit=limit,
        )

    def display(self, row: ReviewRow, column: int) -> Any:
        if column == self.ANSWERED:
            return local_time(row.answered_at)
        if column == self.CUSTOMER:
            return row.email
        if column == self.RATING:
            return str(row.rating)
        if column == self.COMMENT:
            # One line in the table; the tooltip and the detail pane have it whole.
            return " ".join(row.comment.split())
        if column == self.FOLLOW_UP:
            return FOLLOW_UP_CELLS[row.follow_up]
        return None

    def sort_key(self, row: ReviewRow, column: int) -> Any:
        return {
            self.ANSWERED: row.answered_at,
            self.CUSTOMER: row.email,
            self.RATING: row.rating,
            self.FOLLOW_UP: row.follow_up or "",
        }.get(column, self.display(row, column))

    def tooltip(self, row: ReviewRow, column: int) -> str | None:
        if column == self.COMMENT and row.comment.strip():
            # Rich text, so a long comment wraps instead of running off the screen.
            return "<p style='white-space:pre-wrap'>" + html.escape(row.comment.strip()) + "</p>"
        if column == self.FOLLOW_UP and row.follow_up is not None:
            changed = local_time(row.follow_up_changed_at)
            note = f": {row.follow_up_note}" if row.follow_up_note else ""
            return f"{FOLLOW_UP_CELLS[row.follow_up]} since {changed}{note}"
        if column == self.CUSTOMER:
            known = [part for part in (row.name, row.email) if part]
            return " — ".join(known) + (f", user id {row.user_id}" if row.user_id else "")
        if column == self.ANSWERED:
            return local_time_with_hint(row.answered_at, self._context.now())
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DecorationRole and index.column() == self.RATING:
            # A swatch in the category's colour beside the rating.
            row = self.row_at(index.row()) if index.isValid() else None
            return rating_colour(row.rating) if row is not None else None
        return super().data(index, role)


class ResponsesView(QWidget):
    """Summary band, charts, filters, responses table and detail pane (see the module)."""

    # A sentence about what just happened, for the status bar.
    message = Signal(str)
    # The summary band and the charts show the current period's numbers.
    overview_loaded = Signal()
    # The detail pane shows the selected responses.
    detail_shown = Signal()
    # A follow-up change was saved (how many responses changed).
    follow_up_saved = Signal(int)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("responsesView")
        self._context = context
        self._overview_generation = 0
        self._detail_generation = 0
        self.last_message = ""
        self.model = ResponsesModel(context)
        self.exports = ExportController(context, self)
        self.exports.message.connect(self._say)

        self.summary = SummaryBand()
        self.summary.period_changed.connect(lambda _index: self.apply_period())
        self.summary.open_follow_ups_requested.connect(self.show_open_follow_ups)
        self.distribution = DistributionChart()
        self.trend = TrendChart()
        self.distribution_title = QLabel("How customers rated", objectName="distributionTitle")
        self.trend_title = QLabel("", objectName="trendTitle")

        self.category_filter = QComboBox(objectName="categoryFilter")
        self.category_filter.setAccessibleName("Ratings shown")
        for label, _value in CATEGORY_FILTERS:
            self.category_filter.addItem(label)
        self.comment_filter = QCheckBox("With a comment", objectName="commentFilter")
        self.follow_up_filter = QComboBox(objectName="followUpFilter")
        self.follow_up_filter.setAccessibleName("Follow-ups shown")
        for label, _value in FOLLOW_UP_FILTERS:
            self.follow_up_filter.addItem(label)
        self.search = SearchBox(object_name="responseSearch")
        self.search.setPlaceholderText("Search email, name or comment…")
        self.count_label = QLabel("", objectName="responseCount")
        self.export_button = QPushButton("Export…", objectName="exportResponses")
        self.export_button.setToolTip("Save the responses shown (with these filters) as a CSV file")
        self.category_filter.currentIndexChanged.connect(lambda _index: self.apply_filters())
        self.follow_up_filter.currentIndexChanged.connect(lambda _index: self.apply_filters())
        self.comment_filter.toggled.connect(lambda _checked: self.apply_filters())
        self.search.typing_paused.connect(self.apply_filters)
        self.export_button.clicked.connect(lambda _checked=False: self.export_csv())

        self.table = QTableView(objectName="responsesTable")
        self.table.setModel(self.model)
        setup_table(
            self.table,
            widths={0: 130, 1: 210, 2: 62, 3: 300},
            selection=SelectionMode.ExtendedSelection,
            sorted_by=(ResponsesModel.ANSWERED, Qt.SortOrder.DescendingOrder),
        )
        header = self.table.horizontalHeader()
        # The comment takes the room left; the follow-up state is a short word at the end.
        header.setStretchLastSection(False)
        header.setSectionResizeMode(ResponsesModel.COMMENT, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(ResponsesModel.FOLLOW_UP, 80)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.model.modelReset.connect(self._selection_changed)
        self.model.loaded.connect(self._show_count)
        # After every (re)load the selected rows may hold fresher values: show them again.
        self.model.loaded.connect(self._selection_changed)
        self.detail = ResponseDetail(context.now)
        self.detail.follow_up_requested.connect(self._change_follow_up)

        charts = QWidget(objectName="reviewCharts")
        lists = QWidget()
        self.table_splitter = QSplitter(Qt.Orientation.Horizontal, objectName="responsesSplitter")
        self.table_splitter.addWidget(self.table)
        self.table_splitter.addWidget(self.detail)
        self.table_splitter.setStretchFactor(0, 3)
        self.table_splitter.setStretchFactor(1, 2)
        self.table_splitter.setSizes([720, 360])
        self.splitter = QSplitter(Qt.Orientation.Vertical, objectName="reviewSplitter")
        self.splitter.addWidget(charts)
        self.splitter.addWidget(lists)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setChildrenCollapsible(True)
        # Layouts attached before widgets go in, so Qt parents every child at once.
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.splitter, 1)
        chart_row = QHBoxLayout(charts)
        chart_row.setContentsMargins(0, 4, 0, 4)
        left, right = QVBoxLayout(), QVBoxLayout()
        chart_row.addLayout(left, 1)
        chart_row.addSpacing(12)
        chart_row.addLayout(right, 1)
        left.addWidget(self.distribution_title)
        left.addWidget(self.distribution, 1)
        right.addWidget(self.trend_title)
        right.addWidget(self.trend, 1)
        below = QVBoxLayout(lists)
        below.setContentsMargins(0, 0, 0, 0)
        filters = QHBoxLayout()
        below.addLayout(filters)
        below.addWidget(self.table_splitter, 1)
        filters.addWidget(QLabel("Show:"))
        filters.addWidget(self.category_filter)
        filters.addWidget(self.follow_up_filter)
        filters.addWidget(self.comment_filter)
        filters.addWidget(self.search, 1)
        filters.addWidget(self.count_label)
        filters.addWidget(self.export_button)
        self._show_period_titles()
        context.hub.changed.connect(self._data_changed)

    # loading ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the summary, the charts and the table (the detail pane follows)."""
        self.load_overview()
        # The period's first instant moves on at midnight; otherwise the same query again.
        query = replace(self.model.query, filter=self.current_filter())
        if query != self.model.query:
            self.model.set_query(query)
        else:
            self.model.refresh()

    def current_filter(self) -> ReviewFilter:
        """What the filters and the period ask for (since: the period's first instant)."""
        return ReviewFilter(
            since=self._since(),
            category=CATEGORY_FILTERS[self.category_filter.currentIndex()][1],
            with_comment=self.comment_filter.isChecked(),
            follow_up=FOLLOW_UP_FILTERS[self.follow_up_filter.currentIndex()][1],
            text=self.search.text().strip() or None,
        )

    def load_overview(self) -> Task:
        """Read the period's summary and trend in the background, then show them."""
        self._overview_generation += 1
        generation = self._overview_generation
        period = self.summary.period
        since, now, zone = self._since(), self._context.now(), local_time_zone()
        profile = self._context.profile

        def job(_control: WorkerControl) -> _Overview:
            with profile.database.session() as session:
                summary = nps_summary(session, ReviewFilter(since=since))
                trend = nps_trend(
                    session,
                    ReviewFilter(),
                    tz=zone,
                    period=period.trend_unit,
                    now=now,
                    periods=period.trend_periods,
                )
            return _Overview(generation, summary, trend)

        return self._context.run(
            job, description="reading the responses' score", on_result=self._show_overview
        )

    def apply_period(self) -> None:
        """The operator picked another period: everything on the tab follows."""
        self._show_period_titles()
        self.summary.show_summary(None)
        self.load_overview()
        self.apply_filters()

    def apply_filters(self) -> None:
        """Re-query the table with the chosen filters (keeping the current order)."""
        self.search.forget_pending()
        query = replace(self.model.query, filter=self.current_filter())
        if query != self.model.query:
            self.model.set_query(query)

    def show_open_follow_ups(self) -> None:
        """List the period's responses whose follow-up is still to do."""
        values = [value for _label, value in FOLLOW_UP_FILTERS]
        self.follow_up_filter.setCurrentIndex(values.index(FollowUp.OPEN))

    # follow-ups ---------------------------------------------------------------------------

    def selected_rows(self) -> list[int]:
        return sorted(index.row() for index in self.table.selectionModel().selectedRows())

    def mark_selected(self, state: str | None, note: str | None = None) -> Task | None:
        """Set the follow-up of every selected response to ``state`` (``note`` replaces
        their notes unless None)."""
        return self._apply_follow_up(self.detail.rows, state, note)

    # export ---------------------------------------------------------------------------------

    def export_csv(self) -> Task | None:
        """Ask for a file and export the responses the filters keep (in the background)."""
        task = self.exports.start(self.current_filter())
        if task is not None:
            # One export at a time; the button comes back when this one has ended.
            self.export_button.setEnabled(False)
            task.finished.connect(lambda: self.export_button.setEnabled(True))
        return task

    # view state -----------------------------------------------------------------------------

    def save_state(self, settings: QSettings) -> None:
        settings.beginGroup(STATE_GROUP)
        save_table(settings, self.table, self.model.query)
        settings.setValue("splitter", self.splitter.saveState())
        settings.setValue("table_splitter", self.table_splitter.saveState())
        settings.setValue("period", self.summary.period_box.currentIndex())
        settings.setValue("category", self.category_filter.currentIndex())
        settings.setValue("follow_up", self.follow_up_filter.currentIndex())
        settings.setValue("with_comment", self.comment_filter.isChecked())
        settings.setValue("search", self.search.text())
        settings.endGroup()

    def restore_state(self, settings: QSettings) -> None:
        """Bring back columns, splitters, period and filters, then load the tab."""
        settings.beginGroup(STATE_GROUP)
        saved = restore_table(settings, self.table, order_by="answered_at", descending=True)
        for name, splitter in (
            ("splitter", self.splitter),
            ("table_splitter", self.table_splitter),
        ):
            state = settings.value(name)
            if state is not None:
                splitter.restoreState(state)
        period = _int(settings.value("period"), DEFAULT_PERIOD)
        category = _int(settings.value("category"), 0)
        follow_up = _int(settings.value("follow_up"), 0)
        with_comment = str(settings.value("with_comment") or "").lower() == "true"
        search = str(settings.value("search") or "")
        settings.endGroup()
        widgets = (self.category_filter, self.follow_up_filter, self.comment_filter, self.search)
        for widget in widgets:
            widget.blockSignals(True)
        self.summary.set_period_index(period, quietly=True)
        self.category_filter.setCurrentIndex(
            category if 0 <= category < len(CATEGORY_FILTERS) else 0
        )
        self.follow_up_filter.setCurrentIndex(
            follow_up if 0 <= follow_up < len(FOLLOW_UP_FILTERS) else 0
        )
        self.comment_filter.setChecked(with_comment)
        self.search.setText(search)
        for widget in widgets:
            widget.blockSignals(False)
        self._show_period_titles()
        order_by = saved.order_by if saved.order_by in ORDER_KEYS else "answered_at"
        self.model.set_query(ReviewQuery(self.current_filter(), order_by, saved.descending))
        show_sort_order(self.table, self.model.sort_column(), saved.descending)
        self.load_overview()

    # internals ------------------------------------------------------------------------------

    def _since(self) -> datetime | None:
        return self.summary.period.since(self._context.now(), local_time_zone())

    def _show_period_titles(self) -> None:
        period = self.summary.period
        self.trend_title.setText(period.trend_title())
        self.trend.setAccessibleName(period.trend_title())
        self.distribution_title.setText(f"How customers rated, {period.label.lower()}")

    def _show_overview(self, overview: _Overview) -> None:
        if overview.generation != self._overview_generation:
            return  # another period was chosen meanwhile
        self.summary.show_summary(overview.summary)
        self.distribution.set_counts(overview.summary.distribution)
        self.trend.set_points(
            chart_points(overview.trend, self.summary.period.trend_unit, local_time_zone())
        )
        self.overview_loaded.emit()

    def _show_count(self) -> None:
        self.count_label.setText(responses_text(self.model.rowCount()))

    def _selection_changed(self, *_args: Any) -> None:
        """Resolve the selected rows (some may not be loaded yet) and show them."""
        self._detail_generation += 1
        generation = self._detail_generation
        rows = self.selected_rows()
        if not rows:
            self.detail.show_rows(())
            self.detail_shown.emit()
            return
        resolve = self.model.rows_job(rows)

        def job(control: WorkerControl) -> tuple[int, list[ReviewRow]]:
            return generation, resolve(control)

        # Bound methods, not closures: Qt drops the connection if the view is gone first.
        self._context.run(
            job,
            description="reading the selected responses",
            on_result=self._selection_resolved,
            on_error=self._selection_failed,
            pool=self._context.page_pool,
        )

    def _selection_resolved(self, result: tuple[int, list[ReviewRow]]) -> None:
        generation, found = result
        if generation == self._detail_generation:
            self.detail.show_rows(found)
            self.detail_shown.emit()

    def _selection_failed(self, error: TaskError) -> None:
        self.detail.show_rows(())
        self._context.report_error(error)

    def _change_follow_up(self, state: object, note: str | None) -> None:
        self._apply_follow_up(self.detail.rows, state, note)

    def _apply_follow_up(
        self, rows: Sequence[ReviewRow], state: object, note: str | None
    ) -> Task | None:
        if not rows:
            return None
        # "Save note" keeps each response's state: one change per state among the selection.
        groups: dict[str | None, list[int]] = {}
        for row in rows:
            target = row.follow_up if state is KEEP else state
            assert target is None or isinstance(target, str)
            groups.setdefault(target, []).append(row.id)
        profile, now = self._context.profile, self._context.now()

        def job(_control: WorkerControl) -> tuple[int, str]:
            with profile.database.session() as session:
                changed = sum(
                    set_follow_up(session, ids, target, now=now, note=note)
                    for target, ids in groups.items()
                )
            return changed, _saved_sentence(state, note, changed)

        return self._context.run(
            job, description="saving the follow-up", on_result=self._follow_up_done
        )

    def _follow_up_done(self, result: tuple[int, str]) -> None:
        changed, sentence = result
        self._say(sentence)
        self.follow_up_saved.emit(changed)
        self._context.hub.notify(Topic.RESPONSES)

    def _data_changed(self, topic: str) -> None:
        if topic == Topic.RESPONSES:
            self.refresh()
        elif topic == Topic.CUSTOMERS:
            self.model.refresh()

    def _say(self, text: str) -> None:
        self.last_message = text
        self.message.emit(text)


def _saved_sentence(state: object, note: str | None, changed: int) -> str:
    noun = responses_text(changed)
    if not changed:
        return "Nothing to change: the selected responses were already like that."
    if state is KEEP:
        return f"Note saved on {noun}."
    words = {
        FollowUp.DONE: "follow-up done",
        FollowUp.OPEN: "follow-up to do",
        None: "no follow-up",
    }
    return f"Marked {noun}: {words[state]}" + (" (note saved)." if note is not None else ".")


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
