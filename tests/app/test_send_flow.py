"""Send due from the window: a question with the budget impact, then send_due in a worker."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from callexa_desktop.app import asking
from callexa_desktop.app.context import AppContext
from callexa_desktop.app.send_flow import SendController, SendPreview
from callexa_desktop.core.models import SurveyStatus
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.settings import set_setting
from callexa_desktop.services.sandbox import Sandbox
from tests.app.factories import add_survey, survey_states


@pytest.fixture
def callexa_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = secrets.token_hex(16)
    monkeypatch.setenv("CALLEXA_API_KEY", key)
    return key


@pytest.fixture
def sandbox(profile: Profile, callexa_key: str) -> Iterator[Sandbox]:
    with Sandbox(callexa_api_key=callexa_key, clock=profile.clock) as running:
        with profile.database.session() as session:
            set_setting(session, "callexa_base_url", running.callexa_base_url)
        yield running


@pytest.fixture
def window(qtbot: QtBot) -> QWidget:
    # A fixture of its own: qtbot holds widgets weakly, and the controller is its child.
    parent = QWidget()
    qtbot.addWidget(parent)
    return parent


@pytest.fixture
def controller(context: AppContext, window: QWidget) -> SendController:
    return SendController(context, window)


def test_without_a_callexa_key_send_due_says_which_key_is_missing(
    qtbot: QtBot, context: AppContext, controller: SendController
) -> None:
    with qtbot.waitSignal(controller.finished) as finished:
        controller.start()

    assert finished.args == [None]
    [error] = context.reported_errors  # type: ignore[attr-defined]
    assert "No Callexa API key is set for this profile" in error.sentence
    assert "Keys… in the Tools menu" in error.sentence


def test_confirmed_send_goes_within_the_budget_and_the_rest_waits(
    qtbot: QtBot,
    context: AppContext,
    profile: Profile,
    controller: SendController,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = add_survey(profile, "ann@example.com", send_in=timedelta(hours=-3))
    second = add_survey(profile, "bob@example.com", send_in=timedelta(hours=-1))
    add_survey(profile, "cat@example.com", send_in=timedelta(days=2))
    with profile.database.session() as session:
        set_setting(session, "monthly_budget", "1")
    questions: list[str] = []

    def answer(_parent: object, _title: str, text: str, **_kw: object) -> bool:
        questions.append(text)
        return True

    monkeypatch.setattr(asking, "confirm", answer)
    with qtbot.waitSignal(controller.finished, timeout=20_000) as finished:
        controller.start()

    [question] = questions
    assert question.startswith("2 surveys are due; 1 can go now.")
    assert "uses 1 of the 1 surveys left in this month's budget (0 left afterwards)" in question
    assert "1 wait in the queue until next month's budget" in question
    summary = finished.args[0]
    assert summary.sent == 1
    assert [email.email for email in sandbox.callexa.emails] == ["ann@example.com"]
    states = survey_states(profile)
    assert states[first][0] == SurveyStatus.SENT
    assert states[second][0] == SurveyStatus.HELD


def test_after_the_send_the_status_bar_headline_is_short_and_the_story_complete(
    qtbot: QtBot,
    profile: Profile,
    controller: SendController,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_survey(profile, "ann@example.com", send_in=timedelta(hours=-3))
    add_survey(profile, "bad@example.com", send_in=timedelta(hours=-2))
    add_survey(profile, "cat@example.com", send_in=timedelta(hours=-1))
    with profile.database.session() as session:
        set_setting(session, "monthly_budget", "2")
    sandbox.callexa.refuse_recipients(lambda email: email == "bad@example.com")
    monkeypatch.setattr(asking, "confirm", lambda *_a, **_k: True)

    with qtbot.waitSignal(controller.message, timeout=20_000) as said:
        controller.start()

    headline, story = said.args
    assert headline == "Sent 1 survey, 1 failed."
    assert story == "Sent 1 survey; 1 failed; 1 held by the monthly budget."


def test_declining_the_question_sends_nothing(
    qtbot: QtBot,
    profile: Profile,
    controller: SendController,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    survey = add_survey(profile, "ann@example.com", send_in=timedelta(hours=-3))
    monkeypatch.setattr(asking, "confirm", lambda *_a, **_k: False)
    with qtbot.waitSignal(controller.finished) as finished:
        controller.start()

    assert finished.args == [None]
    assert sandbox.callexa.emails == []
    assert survey_states(profile)[survey][0] == SurveyStatus.SCHEDULED


def test_the_question_without_a_budget_just_counts() -> None:
    assert SendPreview(due=3, will_send=3, budget_left=None).question() == (
        "3 surveys are due. Send them now?"
    )
    assert SendPreview(due=1, will_send=1, budget_left=10).question() == (
        "1 survey is due. Send it now? This uses 1 of the 10 surveys left in this month's "
        "budget (9 left afterwards)."
    )
