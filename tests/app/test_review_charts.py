"""The review's hand-painted charts: bars and points where the numbers say, in words too."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF
from PySide6.QtGui import QColor, QHelpEvent, QPalette
from PySide6.QtWidgets import QApplication, QToolTip
from pytestqt.qtbot import QtBot

from callexa_desktop.app.review_charts import (
    ChartPoint,
    DistributionChart,
    TrendChart,
    chart_points,
    rating_colour,
    score_colour,
    score_text,
)
from callexa_desktop.core.review import TrendPoint


def _close(colour: QColor, expected: QColor) -> bool:
    return all(
        abs(a - b) <= 8 for a, b in zip(colour.getRgb()[:3], expected.getRgb()[:3], strict=True)
    )


@pytest.mark.parametrize(
    ("score", "text"), [(32.4, "+32"), (-12.6, "−13"), (0.3, "0"), (None, "—"), (100, "+100")]
)
def test_a_score_reads_the_way_people_write_it(score: float | None, text: str) -> None:
    assert score_text(score) == text


def test_ratings_take_their_category_colour(qapp: object) -> None:
    assert rating_colour(6) != rating_colour(7) != rating_colour(9)
    assert rating_colour(0) == rating_colour(6)
    assert score_colour(-5, QPalette()) == rating_colour(0)
    assert score_colour(40, QPalette()) == rating_colour(10)


def test_each_bar_is_painted_in_its_category_colour_where_its_rating_is(qtbot: QtBot) -> None:
    chart = DistributionChart()
    qtbot.addWidget(chart)
    chart.resize(440, 160)
    chart.set_counts([5, 0, 0, 0, 0, 0, 0, 0, 2, 0, 10])

    image = chart.grab().toImage()
    bottom = int(chart._plot().bottom()) - 3

    for rating in (0, 8, 10):
        centre = int(chart._slot(rating).center().x())
        assert _close(image.pixelColor(centre, bottom), rating_colour(rating)), rating
        assert chart.item_at(QPointF(centre, bottom)) == rating
    empty = int(chart._slot(4).center().x())
    assert not _close(image.pixelColor(empty, bottom), rating_colour(4))


def test_the_distribution_says_what_it_shows(qtbot: QtBot) -> None:
    chart = DistributionChart()
    qtbot.addWidget(chart)
    assert chart.toolTip() == "Ratings given, 0 to 10: no responses in this period."

    chart.set_counts([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2])

    assert chart.accessibleName() == "Ratings given, 0 to 10"
    assert chart.accessibleDescription() == (
        "Ratings given, 0 to 10, 4 responses. "
        "0: 1; 1: 0; 2: 0; 3: 0; 4: 0; 5: 0; 6: 0; 7: 0; 8: 1; 9: 0; 10: 2."
    )
    assert chart.item_text(10) == "Rating 10: 2 responses (50%), promoters"
    assert chart.item_text(0) == "Rating 0: 1 response (25%), detractors"
    with pytest.raises(ValueError, match="11 counts"):
        chart.set_counts([1, 2, 3])


def test_the_trend_draws_a_point_per_period_and_leaves_empty_ones_as_gaps(
    qtbot: QtBot,
) -> None:
    chart = TrendChart()
    qtbot.addWidget(chart)
    chart.resize(480, 180)
    chart.set_points(
        [
            ChartPoint("Sep 2026", "Sep", 4, -50.0),
            ChartPoint("Oct 2026", "Oct", 0, None),
            ChartPoint("Nov 2026", "Nov", 5, 60.0),
        ]
    )

    image = chart.grab().toImage()
    for item, score, colour in ((0, -50.0, rating_colour(0)), (2, 60.0, rating_colour(10))):
        where = QPoint(int(chart._column(item).center().x()), int(chart._y(score)))
        assert _close(image.pixelColor(where), colour), item
    assert chart.item_at(QPointF(chart._column(1).center().x(), 20)) == 1
    assert chart.item_text(1) == "Oct 2026: no responses"
    assert chart.item_text(2) == "Nov 2026: score +60 from 5 responses"
    assert chart.toolTip() == (
        "Score by period, Sep 2026 to Nov 2026. Sep 2026: score −50 from 4 responses; "
        "Oct 2026: no responses; Nov 2026: score +60 from 5 responses."
    )


def test_charts_without_data_paint_a_note_instead(qtbot: QtBot) -> None:
    for chart in (DistributionChart(), TrendChart()):
        qtbot.addWidget(chart)
        chart.resize(300, 140)
        assert not chart.grab().isNull()
    assert chart.description() == "Score by period: nothing to show yet."


def test_weeks_are_labelled_by_their_first_day_and_months_by_name() -> None:
    monday = datetime(2026, 11, 23, tzinfo=UTC)
    week = TrendPoint(monday, "2026-W48", 3, 2, 0, 1, 33.3)
    month = TrendPoint(datetime(2026, 11, 1, tzinfo=UTC), "Nov 2026", 0, 0, 0, 0, None)

    assert chart_points([week], "week", UTC) == [
        ChartPoint("Week of 23 Nov 2026", "23 Nov", 3, 33.3)
    ]
    assert chart_points([month], "month", UTC) == [ChartPoint("Nov 2026", "Nov", 0, None)]


def test_resting_the_pointer_on_a_bar_shows_its_count(qtbot: QtBot) -> None:
    chart = DistributionChart()
    qtbot.addWidget(chart)
    chart.resize(440, 160)
    chart.set_counts([0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 1])
    chart.show()
    qtbot.waitExposed(chart)
    on_nine = chart._slot(9).center().toPoint()

    QApplication.sendEvent(
        chart, QHelpEvent(QEvent.Type.ToolTip, on_nine, chart.mapToGlobal(on_nine))
    )

    assert QToolTip.text() == "Rating 9: 3 responses (75%), promoters"
    QToolTip.hideText()
