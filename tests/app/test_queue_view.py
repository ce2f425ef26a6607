"""The queue view: filters, sorting and actions on selected surveys reach the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from pytestqt.qtbot import QtBot

from callexa_desktop.app import asking
from callexa_desktop.app.context import AppContext
from callexa_desktop.app.queue_model import QueueModel
from callexa_desktop.app.queue_view import QueueView
from callexa_desktop.app.workers import Task
from callexa_desktop.core.models import SurveyStatus
from callexa_desktop.core.profile import Profile
from tests.app.factories import add_survey, survey_states


@pytest.fixture
def surveys(profile: Profile) -> dict[str, int]:
    return {
        "ann": add_survey(profile, "ann@example.com", name="Ann Archer", send_in=timedelta(days=3)),
        "bob": add_survey(
            profile, "bob@example.com", name="Bob Baker", send_in=timedelta(hours=-2)
        ),
        "cat": add_survey(
            profile, "cat@example.com", status=SurveyStatus.HELD, reason="held_by_operator"
        ),
        "dan": add_survey(
            profile, "dan@example.com", status=SurveyStatus.SENT, send_in=timedelta(days=-9)
        ),
    }


def _view(qtbot: QtBot, context: AppContext) -> QueueView:
    view = QueueView(context)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.model.loaded):
        view.model.refresh()
    return view


def _emails(view: QueueView) -> list[str]:
    model = view.model
    return [model.data(model.index(row, QueueModel.EMAIL)) for row in range(model.rowCount())]


def _select(view: QueueView, *emails: str) -> None:
    selection = view.table.selectionModel()
    selection.clearSelection()
    for row, email in enumerate(_emails(view)):
        if email in emails:
            selection.select(
                view.model.index(row, 0),
                QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
            )


def _after_action(qtbot: QtBot, view: QueueView, task: Task | None) -> None:
    """Wait for the action and for the refresh it triggers (started in the same callback)."""
    assert task is not None
    qtbot.waitUntil(lambda: task.done and not view.model.busy)


def test_queue_lists_every_survey_by_send_time_with_plain_words(
    qtbot: QtBot, context: AppContext, surveys: dict[str, int]
) -> None:
    view = _view(qtbot, context)

    assert _emails(view) == [
        "dan@example.com",
        "bob@example.com",
        "cat@example.com",
        "ann@example.com",
    ]
    model = view.model
    assert model.data(model.index(1, QueueModel.STATUS)) == "Due"
    assert model.data(model.index(1, QueueModel.SEND_AT)).endswith("(2 hours ago)")
    assert model.data(model.index(3, QueueModel.SEND_AT)).endswith("(in 3 days)")
    assert model.data(model.index(2, QueueModel.REASON)) == "Held by you"
    assert view.count_label.text() == "4 surveys"


def test_status_filter_shows_only_due_surveys(
    qtbot: QtBot, context: AppContext, surveys: dict[str, int]
) -> None:
    view = _view(qtbot, context)
    with qtbot.waitSignal(view.model.loaded):
        view.set_status_filter("due")

    assert _emails(view) == ["bob@example.com"]


def test_status_filter_shows_only_held_surveys(
    qtbot: QtBot, context: AppContext, surveys: dict[str, int]
) -> None:
    view = _view(qtbot, context)
    with qtbot.waitSignal(view.model.loaded):
        view.set_status_filter(SurveyStatus.HELD)

    assert _emails(view) == ["cat@example.com"]


def test_text_search_filters_by_name_after_typing_stops(
    qtbot: QtBot, context: AppContext, surveys: dict[str, int]
) -> None:
    view = _view(qtbot, context)
    with qtbot.waitSignal(view.model.loaded):
        qtbot.keyClicks(view.search, "baker")

    assert _emails(view) == ["bob@example.com"]
    assert view.count_label.text() == "1 survey"


def test_clicking_the_email_header_sorts_in_the_database(
    qtbot: QtBot, context: AppContext, surveys: dict[str, int]
) -> None:
    view = _view(qtbot, context)
    with qtbot.waitSignal(view.model.loaded):
        view.table.sortByColumn(QueueModel.EMAIL, Qt.SortOrder.DescendingOrder)

    assert view.model.query.order_by == "email"
    assert _emails(view) == [
        "dan@example.com",
        "cat@example.com",
        "bob@example.com",
        "ann@example.com",
    ]


def test_hold_then_release_changes_the_database(
    qtbot: QtBot, context: AppContext, profile: Profile, surveys: dict[str, int]
) -> None:
    view = _view(qtbot, context)
    _select(view, "ann@example.com", "bob@example.com")
    _after_action(qtbot, view, view.hold_selected())

    states = survey_states(profile)
    assert states[surveys["ann"]][0] == SurveyStatus.HELD
    assert states[surveys["bob"]][0] == SurveyStatus.HELD
    assert view.last_message == "2 surveys held."

    _select(view, "ann@example.com")
    _after_action(qtbot, view, view.release_selected())
    assert survey_states(profile)[surveys["ann"]][0] == SurveyStatus.SCHEDULED


def test_cancel_asks_first_and_cancels_when_confirmed(
    qtbot: QtBot,
    context: AppContext,
    profile: Profile,
    surveys: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    questions: list[str] = []

    def answer(_parent: object, _title: str, text: str, **_kw: object) -> bool:
        questions.append(text)
        return True

    monkeypatch.setattr(asking, "confirm", answer)
    view = _view(qtbot, context)
    _select(view, "ann@example.com")
    _after_action(qtbot, view, view.cancel_selected())

    [question] = questions
    assert "Cancel 1 survey?" in question
    assert survey_states(profile)[surveys["ann"]][0] == SurveyStatus.CANCELLED


def test_cancel_declined_changes_nothing(
    qtbot: QtBot,
    context: AppContext,
    profile: Profile,
    surveys: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(asking, "confirm", lambda *_a, **_k: False)
    view = _view(qtbot, context)
    _select(view, "ann@example.com")

    assert view.cancel_selected() is None
    assert survey_states(profile)[surveys["ann"]][0] == SurveyStatus.SCHEDULED


def test_reschedule_moves_the_survey_to_the_chosen_time(
    qtbot: QtBot,
    context: AppContext,
    profile: Profile,
    surveys: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    new_time = profile.clock() + timedelta(days=10)
    monkeypatch.setattr(asking, "ask_send_time", lambda *_a, **_k: new_time)
    view = _view(qtbot, context)
    _select(view, "ann@example.com")
    _after_action(qtbot, view, view.reschedule_selected())

    assert survey_states(profile)[surveys["ann"]] == (SurveyStatus.SCHEDULED, new_time)


def test_send_now_makes_the_survey_due(
    qtbot: QtBot, context: AppContext, profile: Profile, surveys: dict[str, int]
) -> None:
    view = _view(qtbot, context)
    _select(view, "ann@example.com")
    _after_action(qtbot, view, view.send_selected_now())

    assert survey_states(profile)[surveys["ann"]] == (SurveyStatus.SCHEDULED, profile.clock())
    with qtbot.waitSignal(view.model.loaded):
        view.set_status_filter("due")
    assert _emails(view) == ["bob@example.com", "ann@example.com"]


def test_an_action_that_applies_to_none_of_the_selection_shows_a_sentence(
    qtbot: QtBot, context: AppContext, surveys: dict[str, int]
) -> None:
    view = _view(qtbot, context)
    _select(view, "dan@example.com")
    task = view.hold_selected()
    assert task is not None
    with qtbot.waitSignal(task.finished):
        pass

    [error] = context.reported_errors  # type: ignore[attr-defined]
    assert error.sentence.startswith("Survey")
    assert "already sent" in error.sentence
    assert "Traceback" not in error.sentence


def test_action_buttons_are_disabled_without_a_selection(
    qtbot: QtBot, context: AppContext, surveys: dict[str, int]
) -> None:
    view = _view(qtbot, context)
    assert not view.hold_button.isEnabled()
    _select(view, "ann@example.com")
    assert view.hold_button.isEnabled()
