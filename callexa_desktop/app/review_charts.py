"""The review's two charts, painted by hand (PySide6-Essentials has no QtCharts).

``DistributionChart``: eleven bars, one per rating 0–10, in the detractor, passive and
promoter colours, each count written above its bar. ``TrendChart``: the score of each
month (or week) as a line, broken where a period had no responses.

Both read their text colours from the palette (light and dark themes alike), say what
they show in ``accessibleDescription`` and in their tooltip, and tell what one bar or
point holds when the pointer rests on it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QHelpEvent, QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from callexa_desktop.core.review import Category, TrendPoint, category_of

RATINGS = range(11)

# Mid-tone colours that stand out on a light and on a dark background alike.
CATEGORY_COLOURS = {
    Category.DETRACTOR: QColor("#d6453d"),
    Category.PASSIVE: QColor("#d99a1e"),
    Category.PROMOTER: QColor("#2f9e5c"),
}
CATEGORY_WORDS = {
    Category.DETRACTOR: "detractor",
    Category.PASSIVE: "passive",
    Category.PROMOTER: "promoter",
}


def rating_colour(rating: int) -> QColor:
    """The colour of ``rating``'s category (0–6 red, 7–8 amber, 9–10 green)."""
    return CATEGORY_COLOURS[category_of(rating)]


def score_colour(score: float | None, palette: QPalette) -> QColor:
    """Green for a positive score, red for a negative one, the text colour otherwise."""
    if score is None or round(score) == 0:
        return palette.color(QPalette.ColorRole.WindowText)
    return CATEGORY_COLOURS[Category.PROMOTER if score > 0 else Category.DETRACTOR]


def score_text(score: float | None) -> str:
    """A score as people write it: "+32", "−12", "0"; "—" when there is none."""
    if score is None:
        return "—"
    whole = round(score)
    if whole == 0:
        return "0"
    return f"+{whole}" if whole > 0 else f"−{-whole}"


def responses_text(count: int) -> str:
    """ "1 response", "1,234 responses"."""
    return f"{count:,} response" if count == 1 else f"{count:,} responses"


class _Chart(QWidget):
    """What both charts share: size, tooltip per item, accessible description."""

    def __init__(self, name: str, accessible_name: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setAccessibleName(accessible_name)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 120)

    def sizeHint(self) -> QSize:
        return QSize(420, 160)

    def item_at(self, point: QPointF) -> int | None:
        raise NotImplementedError

    def item_text(self, item: int) -> str:
        raise NotImplementedError

    def description(self) -> str:
        raise NotImplementedError

    def _described(self) -> None:
        # One text for screen readers and for a tooltip away from any bar or point.
        text = self.description()
        self.setAccessibleDescription(text)
        self.setToolTip(text)
        self.update()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            item = self.item_at(QPointF(event.pos()))
            QToolTip.showText(
                event.globalPos(),
                self.item_text(item) if item is not None else self.toolTip(),
                self,
            )
            return True
        return super().event(event)

    def _text_colour(self) -> QColor:
        return self.palette().color(QPalette.ColorRole.WindowText)

    def _grid_colour(self) -> QColor:
        colour = self.palette().color(QPalette.ColorRole.WindowText)
        colour.setAlphaF(0.18)
        return colour

    def _empty_note(self, painter: QPainter, area: QRectF, text: str) -> None:
        colour = self._text_colour()
        colour.setAlphaF(0.6)
        painter.setPen(colour)
        painter.drawText(area, Qt.AlignmentFlag.AlignCenter, text)


class DistributionChart(_Chart):
    """How many responses gave each rating 0–10 (``set_counts``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("distributionChart", "Ratings given, 0 to 10", parent)
        self._counts: tuple[int, ...] = (0,) * len(RATINGS)
        self._described()

    def set_counts(self, counts: Sequence[int]) -> None:
        """Show ``counts`` (eleven numbers: index = rating)."""
        if len(counts) != len(RATINGS):
            raise ValueError(f"expected 11 counts (ratings 0-10), got {len(counts)}")
        self._counts = tuple(int(count) for count in counts)
        self._described()

    def counts(self) -> tuple[int, ...]:
        return self._counts

    def item_text(self, item: int) -> str:
        """One bar in words: "Rating 9: 12 responses (24%), promoters"."""
        count = self._counts[item]
        total = sum(self._counts)
        share = f" ({100 * count / total:.0f}%)" if total else ""
        return (
            f"Rating {item}: {responses_text(count)}{share}, {CATEGORY_WORDS[category_of(item)]}s"
        )

    def description(self) -> str:
        total = sum(self._counts)
        if not total:
            return "Ratings given, 0 to 10: no responses in this period."
        bars = "; ".join(f"{rating}: {count:,}" for rating, count in enumerate(self._counts))
        return f"Ratings given, 0 to 10, {responses_text(total)}. {bars}."

    def item_at(self, point: QPointF) -> int | None:
        for rating in RATINGS:
            if self._slot(rating).contains(point):
                return rating
        return None

    # painting ----------------------------------------------------------------------

    def _plot(self) -> QRectF:
        line = self.fontMetrics().height()
        return QRectF(self.rect()).adjusted(4, line + 4, -4, -(line + 6))

    def _slot(self, rating: int) -> QRectF:
        """The column of ``rating``'s bar, top to bottom of the widget (for hovering)."""
        plot = self._plot()
        width = plot.width() / len(RATINGS)
        return QRectF(plot.left() + rating * width, 0, width, self.height())

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        plot = self._plot()
        metrics = self.fontMetrics()
        highest = max(self._counts)
        painter.setPen(QPen(self._grid_colour(), 1))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        for rating in RATINGS:
            slot = self._slot(rating)
            gap = max(2.0, slot.width() * 0.18)
            count = self._counts[rating]
            height = plot.height() * count / highest if highest else 0.0
            bar = QRectF(slot.left() + gap / 2, plot.bottom() - height, slot.width() - gap, height)
            if count:
                # A sliver at least, so a single response is visible next to hundreds.
                bar.setTop(min(bar.top(), plot.bottom() - 2))
                painter.fillRect(bar, rating_colour(rating))
            painter.setPen(self._text_colour())
            label = QRectF(slot.left(), plot.bottom() + 3, slot.width(), metrics.height())
            painter.drawText(
                label, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, str(rating)
            )
            if count:
                above = QRectF(
                    slot.left(), bar.top() - metrics.height() - 1, slot.width(), metrics.height()
                )
                painter.drawText(above, Qt.AlignmentFlag.AlignCenter, _short_count(count))
        if not highest:
            self._empty_note(painter, plot, "No responses in this period")
        painter.end()


@dataclass(frozen=True)
class ChartPoint:
    """One period of the trend as the chart shows it."""

    label: str  # in tooltips: "Nov 2026", "Week of 23 Nov 2026"
    axis_label: str  # under the axis: "Nov", "23 Nov"
    responses: int
    score: float | None


def chart_points(trend: Sequence[TrendPoint], unit: str, tz: tzinfo) -> list[ChartPoint]:
    """``core.review`` trend points (by "month" or "week") as the chart labels them: weeks
    by their first day in the operator's time zone, not by ISO week number."""
    shown = []
    for point in trend:
        if unit == "week":
            start = point.start.astimezone(tz)
            label, axis = f"Week of {start.day} {start:%b %Y}", f"{start.day} {start:%b}"
        else:
            label, axis = point.label, point.label.split(" ", 1)[0]
        shown.append(ChartPoint(label, axis, point.responses, point.score))
    return shown


class TrendChart(_Chart):
    """The score of each period as a line over −100…+100, broken where a period was empty."""

    Y_TICKS = (-100, -50, 0, 50, 100)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("trendChart", "Score by period", parent)
        self._points: tuple[ChartPoint, ...] = ()
        self._described()

    def set_points(self, points: Sequence[ChartPoint]) -> None:
        """Show ``points``, oldest first (see ``chart_points``)."""
        self._points = tuple(points)
        self._described()

    def points(self) -> tuple[ChartPoint, ...]:
        return self._points

    def item_text(self, item: int) -> str:
        """One period in words: "Nov 2026: score +32 from 25 responses"."""
        point = self._points[item]
        if not point.responses or point.score is None:
            return f"{point.label}: no responses"
        return (
            f"{point.label}: score {score_text(point.score)} from {responses_text(point.responses)}"
        )

    def description(self) -> str:
        if not self._points:
            return "Score by period: nothing to show yet."
        first, last = self._points[0].label, self._points[-1].label
        items = "; ".join(self.item_text(item) for item in range(len(self._points)))
        return f"Score by period, {first} to {last}. {items}."

    def item_at(self, point: QPointF) -> int | None:
        for item in range(len(self._points)):
            if self._column(item).contains(point):
                return item
        return None

    # painting ----------------------------------------------------------------------

    def _plot(self) -> QRectF:
        metrics = self.fontMetrics()
        left = metrics.horizontalAdvance("−100") + 8
        half_line = metrics.height() / 2
        return QRectF(self.rect()).adjusted(left, half_line + 2, -6, -(metrics.height() + 6))

    def _column(self, item: int) -> QRectF:
        plot = self._plot()
        width = plot.width() / max(1, len(self._points))
        return QRectF(plot.left() + item * width, 0, width, self.height())

    def _y(self, score: float) -> float:
        plot = self._plot()
        return plot.bottom() - (max(-100.0, min(100.0, score)) + 100) / 200 * plot.height()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        plot = self._plot()
        metrics = self.fontMetrics()
        text = self._text_colour()
        for tick in self.Y_TICKS:
            y = self._y(tick)
            grid = self._grid_colour()
            if tick == 0:
                grid.setAlphaF(0.45)
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(text)
            label = QRectF(0, y - metrics.height() / 2, plot.left() - 5, metrics.height())
            painter.drawText(
                label, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, score_text(tick)
            )
        if not self._points:
            self._empty_note(painter, plot, "Nothing to show yet")
            painter.end()
            return
        self._draw_labels(painter, plot)
        self._draw_line(painter)
        if all(point.score is None for point in self._points):
            self._empty_note(painter, plot, "No responses in these periods")
        painter.end()

    def _draw_labels(self, painter: QPainter, plot: QRectF) -> None:
        metrics = self.fontMetrics()
        labels = [point.axis_label for point in self._points]
        widest = max(metrics.horizontalAdvance(label) for label in labels) + 6
        # Every label if they fit, else every second or third, always ending with the latest.
        step = max(1, math.ceil(widest / max(1.0, self._column(0).width())))
        painter.setPen(self._text_colour())
        last = len(labels) - 1
        for item, label in enumerate(labels):
            if (last - item) % step:
                continue
            column = self._column(item)
            area = QRectF(
                column.center().x() - widest / 2, plot.bottom() + 4, widest, metrics.height()
            )
            painter.drawText(area, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, label)

    def _draw_line(self, painter: QPainter) -> None:
        line = QColor(self.palette().color(QPalette.ColorRole.Highlight))
        path = QPainterPath()
        pen_down = False
        dots: list[tuple[QPointF, float]] = []
        for item, point in enumerate(self._points):
            if point.score is None or not point.responses:
                pen_down = False  # an empty period is a gap, not a zero
                continue
            where = QPointF(self._column(item).center().x(), self._y(point.score))
            if pen_down:
                path.lineTo(where)
            else:
                path.moveTo(where)
            pen_down = True
            dots.append((where, point.score))
        painter.setPen(QPen(line, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Base), 1.5))
        for where, score in dots:
            painter.setBrush(score_colour(score, self.palette()))
            painter.drawEllipse(where, 4.5, 4.5)


def _short_count(count: int) -> str:
    """A count above a narrow bar: 1234 -> "1.2k"."""
    if count < 1000:
        return str(count)
    if count < 10_000:
        return f"{count / 1000:.1f}k"
    return f"{count // 1000}k"
