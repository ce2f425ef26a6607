"""The Responses tab is the offline review: score, charts, filters, follow-ups and export."""

from __future__ import annotations

import csv
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelection, QItemSelectionModel, QSettings, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot
from sqlmodel import select

from callexa_desktop.app import asking, review_export
from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.responses_view import ResponsesModel, ResponsesView
from callexa_desktop.app.review_charts import rating_colour
from callexa_desktop.app.review_summary import PERIODS
from callexa_desktop.app.time_text import local_time
from callexa_desktop.core.models import Customer, Response
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.responses import ResponseRecord, record_responses
from callexa_desktop.core.review import FollowUp, set_follow_up
from tests.app.factories import column_texts
from tests.conftest import FIXED_NOW

LAST_30_DAYS, LAST_90_DAYS, LAST_12_MONTHS, ALL_TIME = range(4)

# email, rating, comment, days before the test's now; detractors get an open follow-up.
SEEDED = [
    ("ann@example.com", 10, "Lovely", 10),
    ("bob@example.com", 3, "Too slow\nand rude", 5),
    ("fay@example.com", 6, "", 20),
    ("cat@example.com", 8, "", 60),
    ("dan@example.com", 9, "=Great", 200),
    ("eve@example.com", 0, "Awful", 500),
]


@pytest.fixture
def seeded(profile: Profile) -> Profile:
    """Six responses spread from 5 to 500 days ago (the table above)."""
    now = profile.clock()
    records = [
        ResponseRecord(
            email=email,
            rating=rating,
            comment=comment,
            answered_at=now - timedelta(days=days),
            source="test",
        )
        for email, rating, comment, days in SEEDED
    ]
    with profile.database.session() as session:
        record_responses(session, records, source="test", now=now)
        detractors = [r.id for r in session.exec(select(Response)) if r.rating <= 6 and r.id]
        others = [r.id for r in session.exec(select(Response)) if r.rating > 6 and r.id]
        set_follow_up(session, detractors, FollowUp.OPEN, now=now)
        set_follow_up(session, others, None, now=now)
        session.commit()
    return profile


@pytest.fixture
def view(qtbot: QtBot, context: AppContext, seeded: Profile) -> ResponsesView:
    made = ResponsesView(context)
    qtbot.addWidget(made)
    made.resize(1100, 640)
    with qtbot.waitSignal(made.overview_loaded), qtbot.waitSignal(made.model.loaded):
        made.refresh()
    return made


def _choose_period(qtbot: QtBot, view: ResponsesView, index: int) -> None:
    with qtbot.waitSignal(view.overview_loaded), qtbot.waitSignal(view.model.loaded):
        view.summary.period_box.setCurrentIndex(index)


def _emails(view: ResponsesView) -> list[str]:
    return column_texts(view.model, ResponsesModel.CUSTOMER)


def _select(qtbot: QtBot, view: ResponsesView, emails: list[str]) -> None:
    """Select the rows of ``emails`` and wait until the detail pane shows them."""
    chosen = QItemSelection()
    for row, email in enumerate(_emails(view)):
        if email in emails:
            chosen.select(view.model.index(row, 0), view.model.index(row, 4))
    with qtbot.waitSignal(view.detail_shown):
        view.table.selectionModel().select(chosen, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    qtbot.waitUntil(lambda: sorted(row.email for row in view.detail.rows) == sorted(emails))


def _follow_ups(profile: Profile) -> dict[str, tuple[str | None, str]]:
    with profile.database.session() as session:
        rows = session.exec(
            select(Customer.email, Response.follow_up, Response.follow_up_note).join(
                Customer, Customer.id == Response.customer_id
            )
        )
        return {email: (state, note) for email, state, note in rows}


def test_the_summary_shows_score_counts_and_open_follow_ups_of_the_last_12_months(
    view: ResponsesView,
) -> None:
    band = view.summary

    assert band.period.label == "Last 12 months"
    # ann 10, dan 9 | cat 8 | bob 3, fay 6: (2 - 2) / 5 = 0; eve is older than a year.
    assert band.score_label.text() == "0"
    assert band.responses_label.text() == "from 5 responses"
    assert band.category_labels["promoter"].text() == "2 · 40%"
    assert band.category_labels["passive"].text() == "1 · 20%"
    assert band.category_labels["detractor"].text() == "2 · 40%"
    assert band.follow_ups_button.text() == "2 open follow-ups"
    assert band.accessibleDescription() == (
        "Last 12 months: score 0 from 5 responses; 2 promoters, 1 passive, 2 detractors; "
        "2 open follow-ups."
    )
    assert view.count_label.text() == "5 responses"
    assert _emails(view) == [
        "bob@example.com",
        "ann@example.com",
        "fay@example.com",
        "cat@example.com",
        "dan@example.com",
    ]


def test_choosing_another_period_changes_the_numbers_the_charts_and_the_list(
    qtbot: QtBot, view: ResponsesView
) -> None:
    _choose_period(qtbot, view, LAST_30_DAYS)

    # ann 10 | bob 3, fay 6: (1 - 2) / 3 = -33.
    assert view.summary.score_label.text() == "−33"
    assert view.summary.responses_label.text() == "from 3 responses"
    assert view.distribution.counts() == (0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1)
    assert _emails(view) == ["bob@example.com", "ann@example.com", "fay@example.com"]
    assert view.trend_title.text() == "Score by week, last 5 weeks"
    assert len(view.trend.points()) == 5
    assert view.trend.points()[-1].label.startswith("Week of ")

    _choose_period(qtbot, view, ALL_TIME)

    # Everyone: (2 - 3) / 6 = -17.
    assert view.summary.score_label.text() == "−17"
    assert view.count_label.text() == "6 responses"
    assert sum(view.distribution.counts()) == 6
    assert len(view.trend.points()) == 24


def test_the_score_is_red_when_negative_and_plain_at_zero(
    qtbot: QtBot, view: ResponsesView
) -> None:
    label = view.summary.score_label
    plain = view.summary.palette().color(QPalette.ColorRole.WindowText)
    assert label.palette().color(QPalette.ColorRole.WindowText) == plain

    _choose_period(qtbot, view, LAST_30_DAYS)

    assert label.palette().color(QPalette.ColorRole.WindowText) == rating_colour(0)


def test_filters_change_the_rows(qtbot: QtBot, view: ResponsesView) -> None:
    with qtbot.waitSignal(view.model.loaded):
        view.category_filter.setCurrentIndex(3)  # Detractors (0–6)
    assert _emails(view) == ["bob@example.com", "fay@example.com"]

    with qtbot.waitSignal(view.model.loaded):
        view.comment_filter.setChecked(True)
    assert _emails(view) == ["bob@example.com"]

    with qtbot.waitSignal(view.model.loaded):
        view.category_filter.setCurrentIndex(0)
    assert _emails(view) == ["bob@example.com", "ann@example.com", "dan@example.com"]

    with qtbot.waitSignal(view.model.loaded):
        view.comment_filter.setChecked(False)
        view.follow_up_filter.setCurrentIndex(1)  # Follow-up to do
    assert _emails(view) == ["bob@example.com", "fay@example.com"]

    with qtbot.waitSignal(view.model.loaded):
        view.follow_up_filter.setCurrentIndex(0)
    with qtbot.waitSignal(view.model.loaded):
        qtbot.keyClicks(view.search, "RUDE")  # the comment, whatever the case
    assert _emails(view) == ["bob@example.com"]


def test_the_open_follow_ups_button_lists_them(qtbot: QtBot, view: ResponsesView) -> None:
    with qtbot.waitSignal(view.model.loaded):
        view.summary.follow_ups_button.click()

    assert view.follow_up_filter.currentText() == "Follow-up to do"
    assert _emails(view) == ["bob@example.com", "fay@example.com"]


def test_the_table_shows_local_time_rating_colour_one_line_comment_and_whole_comment_on_hover(
    view: ResponsesView,
) -> None:
    model = view.model
    bob = model.index(0, ResponsesModel.COMMENT)

    assert model.data(bob) == "Too slow and rude"
    assert "Too slow\nand rude" in model.data(bob, Qt.ItemDataRole.ToolTipRole)
    bob_answered = view.model.row_at(0).answered_at  # type: ignore[union-attr]
    assert model.data(model.index(0, ResponsesModel.ANSWERED)) == local_time(bob_answered)
    assert bob_answered == FIXED_NOW - timedelta(days=5)
    assert model.data(model.index(0, ResponsesModel.RATING), Qt.ItemDataRole.DecorationRole) == (
        rating_colour(3)
    )
    assert column_texts(model, ResponsesModel.FOLLOW_UP) == ["To do", "", "To do", "", ""]


def test_sorting_by_rating_asks_the_database(qtbot: QtBot, view: ResponsesView) -> None:
    with qtbot.waitSignal(view.model.loaded):
        view.table.sortByColumn(ResponsesModel.RATING, Qt.SortOrder.DescendingOrder)

    assert column_texts(view.model, ResponsesModel.RATING) == ["10", "9", "8", "6", "3"]


def test_marking_a_follow_up_done_with_a_note_persists_and_updates_the_counts(
    qtbot: QtBot, view: ResponsesView, seeded: Profile
) -> None:
    _select(qtbot, view, ["bob@example.com"])
    detail = view.detail
    assert detail.done_button.isEnabled()
    assert not detail.reopen_button.isEnabled()
    assert "Too slow" in detail.text.toPlainText()
    qtbot.keyClicks(detail.note, "Called him, refunded the delivery")

    with qtbot.waitSignal(view.follow_up_saved), qtbot.waitSignal(view.overview_loaded):
        detail.done_button.click()

    assert _follow_ups(seeded)["bob@example.com"] == (
        FollowUp.DONE,
        "Called him, refunded the delivery",
    )
    assert view.summary.follow_ups_button.text() == "1 open follow-up"
    qtbot.waitUntil(lambda: [row.follow_up for row in view.detail.rows] == [FollowUp.DONE])
    assert detail.reopen_button.isEnabled()
    assert not detail.done_button.isEnabled()
    assert view.last_message == "Marked 1 response: follow-up done (note saved)."

    with qtbot.waitSignal(view.follow_up_saved), qtbot.waitSignal(view.overview_loaded):
        detail.reopen_button.click()
    assert _follow_ups(seeded)["bob@example.com"] == (
        FollowUp.OPEN,
        "Called him, refunded the delivery",
    )
    assert view.summary.follow_ups_button.text() == "2 open follow-ups"


def test_a_note_being_typed_survives_a_refresh_of_the_same_response(
    qtbot: QtBot, view: ResponsesView, context: AppContext
) -> None:
    _select(qtbot, view, ["bob@example.com"])
    qtbot.keyClicks(view.detail.note, "Left a voicemail")

    with qtbot.waitSignal(view.detail_shown):
        context.hub.notify(Topic.RESPONSES)  # e.g. a sync fetched new answers meanwhile

    assert view.detail.note.toPlainText() == "Left a voicemail"
    assert view.detail.save_note_button.isEnabled()


def test_several_selected_responses_get_the_same_follow_up(
    qtbot: QtBot, view: ResponsesView, seeded: Profile
) -> None:
    _select(qtbot, view, ["ann@example.com", "cat@example.com"])
    detail = view.detail
    assert "2 responses selected" in detail.text.toPlainText()
    assert not detail.needs_button.isHidden()
    assert detail.needs_button.isEnabled()

    with qtbot.waitSignal(view.follow_up_saved), qtbot.waitSignal(view.overview_loaded):
        detail.needs_button.click()

    follow_ups = _follow_ups(seeded)
    assert follow_ups["ann@example.com"] == (FollowUp.OPEN, "")
    assert follow_ups["cat@example.com"] == (FollowUp.OPEN, "")
    assert follow_ups["dan@example.com"] == (None, "")
    assert view.summary.follow_ups_button.text() == "4 open follow-ups"


def test_a_detractor_alone_offers_no_needs_follow_up_button(
    qtbot: QtBot, view: ResponsesView
) -> None:
    _select(qtbot, view, ["fay@example.com"])

    assert view.detail.needs_button.isHidden()
    assert "No comment." in view.detail.text.toPlainText()


def test_export_writes_the_filtered_rows_to_the_chosen_file(
    qtbot: QtBot, view: ResponsesView, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out" / "detractors.csv"
    target.parent.mkdir()
    suggested: list[str] = []

    def chosen_in_the_file_dialog(_parent: object, name: str) -> Path:
        suggested.append(name)
        return target

    monkeypatch.setattr(asking, "ask_save_csv", chosen_in_the_file_dialog)
    with qtbot.waitSignal(view.model.loaded):
        view.category_filter.setCurrentIndex(3)  # Detractors (0–6)

    with qtbot.waitSignal(view.exports.finished) as finished:
        view.export_csv()

    assert finished.args == [2]
    assert Path(suggested[0]).name == "callexa-responses-2026-11-30.csv"
    with target.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["email"], row["rating"], row["follow_up"]) for row in rows] == [
        ("bob@example.com", "3", "open"),
        ("fay@example.com", "6", "open"),
    ]
    assert view.last_message == f"Exported 2 responses to {target}."
    assert [p.name for p in target.parent.iterdir()] == ["detractors.csv"]


def test_an_export_that_cannot_be_written_is_one_sentence_and_leaves_no_file(
    qtbot: QtBot, view: ResponsesView, context: AppContext, tmp_path: Path, monkeypatch
) -> None:
    target = tmp_path / "missing-folder" / "responses.csv"
    monkeypatch.setattr(asking, "ask_save_csv", lambda _parent, _name: target)

    with qtbot.waitSignal(view.exports.finished) as finished:
        view.export_csv()

    assert finished.args == [None]
    errors = context.reported_errors  # type: ignore[attr-defined]
    assert len(errors) == 1
    assert str(target) in errors[0].sentence
    assert "Traceback" not in errors[0].sentence
    assert not target.exists()


def test_cancelling_a_running_export_says_so_and_saves_nothing(
    qtbot: QtBot,
    view: ResponsesView,
    context: AppContext,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = tmp_path / "responses.csv"
    monkeypatch.setattr(asking, "ask_save_csv", lambda _parent, _name: target)
    started, release = threading.Event(), threading.Event()
    real_export = review_export.export_responses_to

    def export_held_at_the_start(*args: Any, **kwargs: Any) -> int:
        started.set()
        release.wait(30)
        return real_export(*args, **kwargs)

    monkeypatch.setattr(review_export, "export_responses_to", export_held_at_the_start)
    view.export_csv()
    qtbot.waitUntil(started.is_set)
    dialog = view.exports.progress_dialog
    assert dialog is not None
    assert not view.export_button.isEnabled()

    with qtbot.waitSignal(view.exports.finished) as finished:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
        release.set()

    assert finished.args == [None]
    assert view.last_message == "Export stopped; nothing was saved."
    assert context.reported_errors == []  # type: ignore[attr-defined]
    assert list(tmp_path.glob("*.csv*")) == []
    qtbot.waitUntil(view.export_button.isEnabled)


def test_cancelling_the_file_dialog_exports_nothing(
    view: ResponsesView, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(asking, "ask_save_csv", lambda _parent, _name: None)

    assert view.export_csv() is None


def test_the_charts_paint_and_tell_their_values(view: ResponsesView) -> None:
    view.show()
    assert not view.grab().isNull()

    distribution = view.distribution
    assert distribution.counts() == (0, 0, 0, 1, 0, 0, 1, 0, 1, 1, 1)
    assert "3: 1; 4: 0" in distribution.accessibleDescription()
    assert distribution.item_text(10) == "Rating 10: 1 response (20%), promoters"
    nov = view.trend.points()[-1]
    assert nov.label == "Nov 2026"
    assert "Nov 2026: score −33 from 3 responses" in view.trend.toolTip()
    assert "Jan 2026: no responses" in view.trend.accessibleDescription()


def test_period_filters_and_splitters_come_back_after_a_restart(
    qtbot: QtBot, view: ResponsesView, context: AppContext, tmp_path: Path
) -> None:
    settings = QSettings(str(tmp_path / "state.ini"), QSettings.Format.IniFormat)
    _choose_period(qtbot, view, LAST_90_DAYS)
    with qtbot.waitSignal(view.model.loaded):
        view.category_filter.setCurrentIndex(3)
    view.comment_filter.blockSignals(True)
    view.comment_filter.setChecked(True)
    view.comment_filter.blockSignals(False)
    view.save_state(settings)

    again = ResponsesView(context)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.overview_loaded), qtbot.waitSignal(again.model.loaded):
        again.restore_state(settings)

    assert again.summary.period == PERIODS[LAST_90_DAYS]
    assert again.category_filter.currentIndex() == 3
    assert again.comment_filter.isChecked()
    assert _emails(again) == ["bob@example.com"]
    assert again.summary.score_label.text() == "−25"


def test_new_responses_refresh_the_tab(
    qtbot: QtBot, view: ResponsesView, context: AppContext, seeded: Profile
) -> None:
    now = seeded.clock()
    with seeded.database.session() as session:
        record_responses(
            session,
            [ResponseRecord("gus@example.com", 9, "Great", now - timedelta(days=1), "test")],
            source="test",
            now=now,
        )
        session.commit()

    with qtbot.waitSignal(view.overview_loaded), qtbot.waitSignal(view.model.loaded):
        context.hub.notify(Topic.RESPONSES)

    assert view.count_label.text() == "6 responses"
    assert view.summary.responses_label.text() == "from 6 responses"
    assert _emails(view)[0] == "gus@example.com"
