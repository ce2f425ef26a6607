"""The review's summary band: the score, large, with the counts behind it, and the period
selector that decides which responses the whole Responses tab looks at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from callexa_desktop.app.review_charts import (
    CATEGORY_COLOURS,
    responses_text,
    score_colour,
    score_text,
)
from callexa_desktop.core.review import Category, NpsSummary


@dataclass(frozen=True)
class Period:
    """A choice of the period selector: how far back, and how the trend is cut."""

    label: str
    days: int | None  # None: every response ever kept
    trend_unit: str  # "week" or "month"
    trend_periods: int

    def since(self, now: datetime, tz: tzinfo) -> datetime | None:
        """The first instant of the period (aware UTC): local midnight ``days`` days before
        ``now``, so the period stays the same all day long; None for all time."""
        if self.days is None:
            return None
        midnight = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
        return (midnight - timedelta(days=self.days)).astimezone(UTC)

    def trend_title(self) -> str:
        """ "Score by month, last 12 months"."""
        return f"Score by {self.trend_unit}, last {self.trend_periods} {self.trend_unit}s"


PERIODS = (
    Period("Last 30 days", 30, "week", 5),
    Period("Last 90 days", 90, "week", 13),
    Period("Last 12 months", 365, "month", 12),
    Period("All time", None, "month", 24),
)
DEFAULT_PERIOD = 2  # Last 12 months


class SummaryBand(QFrame):
    """Score, responses, promoters / passives / detractors with their share, open
    follow-ups (a button that shows them), and the period selector.

    ``period_changed(index)`` when the operator picks another period;
    ``open_follow_ups_requested()`` when they click the open follow-ups.
    """

    period_changed = Signal(int)
    open_follow_ups_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reviewSummary")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.summary: NpsSummary | None = None

        self.score_label = QLabel("—", objectName="npsScore")
        font = QFont(self.score_label.font())
        font.setPointSizeF(font.pointSizeF() * 2.6)
        font.setBold(True)
        self.score_label.setFont(font)
        self.score_label.setMinimumWidth(self.score_label.fontMetrics().horizontalAdvance("−100 "))
        self.score_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.score_label.setAccessibleName("Net Promoter Score")
        self.score_label.setToolTip(
            "Net Promoter Score: the share of promoters (9–10) minus the share of detractors "
            "(0–6), from −100 to +100"
        )
        self.score_caption = QLabel("Net Promoter Score", objectName="npsCaption")
        self.responses_label = QLabel("", objectName="responsesCount")

        self.category_labels: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(2)
        for column, (category, title) in enumerate(
            (
                (Category.PROMOTER, "Promoters (9–10)"),
                (Category.PASSIVE, "Passives (7–8)"),
                (Category.DETRACTOR, "Detractors (0–6)"),
            )
        ):
            swatch = QLabel(
                f"<span style='color:{CATEGORY_COLOURS[category].name()}'>■</span> {title}"
            )
            value = QLabel("", objectName=f"{category}Count")
            bold = QFont(value.font())
            bold.setBold(True)
            value.setFont(bold)
            value.setAccessibleName(title)
            grid.addWidget(swatch, 0, column)
            grid.addWidget(value, 1, column)
            self.category_labels[category] = value

        self.follow_ups_button = QPushButton("", objectName="openFollowUps")
        self.follow_ups_button.setFlat(True)
        # Looks like a link: it leads to the list of follow-ups to do.
        self.follow_ups_button.setStyleSheet(
            "QPushButton { color: palette(link); text-decoration: underline; border: none;"
            " padding: 2px; text-align: left; }"
            " QPushButton:disabled { color: palette(window-text); text-decoration: none; }"
        )
        self.follow_ups_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.follow_ups_button.setToolTip("Show the responses whose follow-up is still to do")
        self.follow_ups_button.clicked.connect(
            lambda _checked=False: self.open_follow_ups_requested.emit()
        )

        self.period_box = QComboBox(objectName="reviewPeriod")
        self.period_box.setAccessibleName("Period")
        self.period_box.setToolTip("The responses the score, the charts and the list look at")
        for period in PERIODS:
            self.period_box.addItem(period.label)
        self.period_box.setCurrentIndex(DEFAULT_PERIOD)
        self.period_box.currentIndexChanged.connect(self.period_changed)

        # Layouts attached before widgets go in, so Qt parents every child at once.
        row = QHBoxLayout(self)
        score = QVBoxLayout()
        counts = QVBoxLayout()
        period = QVBoxLayout()
        row.addWidget(self.score_label)
        row.addLayout(score)
        row.addSpacing(18)
        row.addLayout(grid)
        row.addSpacing(18)
        row.addLayout(counts)
        row.addStretch(1)
        row.addLayout(period)
        score.addStretch(1)
        score.addWidget(self.score_caption)
        score.addWidget(self.responses_label)
        score.addStretch(1)
        counts.addStretch(1)
        counts.addWidget(self.follow_ups_button)
        counts.addStretch(1)
        period.addStretch(1)
        period.addWidget(QLabel("Period:"))
        period.addWidget(self.period_box)
        period.addStretch(1)
        self.show_summary(None)

    @property
    def period(self) -> Period:
        return PERIODS[self.period_box.currentIndex()]

    def set_period_index(self, index: int, *, quietly: bool = False) -> None:
        """Choose ``PERIODS[index]`` (an index out of range chooses the default)."""
        self.period_box.blockSignals(quietly)
        self.period_box.setCurrentIndex(index if 0 <= index < len(PERIODS) else DEFAULT_PERIOD)
        self.period_box.blockSignals(False)

    def show_summary(self, summary: NpsSummary | None) -> None:
        """Show ``summary`` (None: still loading, dashes everywhere)."""
        self.summary = summary
        score = summary.score if summary is not None else None
        self.score_label.setText(score_text(score))
        colour = score_colour(score, self.palette())
        palette = self.score_label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, colour)
        self.score_label.setPalette(palette)
        if summary is None:
            self.responses_label.setText("")
            for label in self.category_labels.values():
                label.setText("—")
            self.follow_ups_button.setText("")
            self.follow_ups_button.setEnabled(False)
            self.setAccessibleDescription("")
            return
        self.responses_label.setText(
            f"from {responses_text(summary.responses)}" if summary.responses else "no responses yet"
        )
        for category, count in (
            (Category.PROMOTER, summary.promoters),
            (Category.PASSIVE, summary.passives),
            (Category.DETRACTOR, summary.detractors),
        ):
            self.category_labels[category].setText(_count_and_share(count, summary.responses))
        open_count = summary.follow_ups_open
        self.follow_ups_button.setText(
            _many(open_count, "open follow-up") if open_count else "No follow-up to do"
        )
        self.follow_ups_button.setEnabled(bool(open_count))
        self.setAccessibleDescription(self.sentence())

    def sentence(self) -> str:
        """The band in one sentence (for screen readers and tests)."""
        summary = self.summary
        if summary is None:
            return ""
        return (
            f"{self.period.label}: score {score_text(summary.score)} from "
            f"{responses_text(summary.responses)}; {_many(summary.promoters, 'promoter')}, "
            f"{_many(summary.passives, 'passive')}, {_many(summary.detractors, 'detractor')}; "
            f"{_many(summary.follow_ups_open, 'open follow-up')}."
        )


def _many(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _count_and_share(count: int, total: int) -> str:
    """ "24 · 48%"."""
    if not total:
        return f"{count:,}"
    return f"{count:,} · {100 * count / total:.0f}%"
