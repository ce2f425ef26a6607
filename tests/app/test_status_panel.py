"""The status bar: keys, due surveys, budget left this month, last and next sync."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtWidgets import QStatusBar
from pytestqt.qtbot import QtBot

from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.status_panel import StatusPanel
from callexa_desktop.app.time_text import local_time
from callexa_desktop.core.activity import RunKind, RunStatus, finish_run, start_run
from callexa_desktop.core.models import SurveyStatus
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.settings import set_setting
from tests.app.factories import add_survey


@pytest.fixture
def bar(qtbot: QtBot) -> QStatusBar:
    # A fixture of its own: qtbot holds widgets weakly, and the panel's labels live in it.
    made = QStatusBar()
    qtbot.addWidget(made)
    return made


def _panel(context: AppContext, bar: QStatusBar) -> StatusPanel:
    return StatusPanel(context, bar, zone=lambda: UTC)


def test_everything_set_shows_keys_due_budget_and_sync_times(
    qtbot: QtBot,
    context: AppContext,
    profile: Profile,
    bar: QStatusBar,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CALLEXA_API_KEY", secrets.token_hex(16))
    monkeypatch.setenv("SEGMENT_WRITE_KEY", secrets.token_hex(16))
    with profile.database.session() as session:
        set_setting(session, "monthly_budget", "10")
        set_setting(session, "sync_time", "06:00")
    for number in range(3):
        add_survey(
            profile,
            f"sent{number}@example.com",
            status=SurveyStatus.SENT,
            send_in=timedelta(days=-1),
        )
    add_survey(profile, "due@example.com", send_in=timedelta(minutes=-5))
    two_hours_ago = profile.clock() - timedelta(hours=2)
    run = start_run(profile.database, RunKind.SYNC, clock=lambda: two_hours_ago)
    finish_run(profile.database, run, status=RunStatus.OK, clock=lambda: two_hours_ago)

    panel = _panel(context, bar)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.facts is not None)

    assert panel.keys_label.text() == "Keys ✓"
    assert "Segment write key: set, from its environment variable" in panel.keys_label.toolTip()
    assert panel.due_label.text() == "1 due"
    assert panel.budget_label.text() == "Budget: 7 of 10 left"
    assert "this month's 10 surveys" in panel.budget_label.toolTip()
    tomorrow_six = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    assert panel.sync_label.text() == f"Sync: last 2 hours ago, next {local_time(tomorrow_six)}"


def test_a_data_change_refreshes_the_status(
    qtbot: QtBot, context: AppContext, profile: Profile, bar: QStatusBar
) -> None:
    panel = _panel(context, bar)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.facts is not None)
    assert panel.due_label.text() == "0 due"

    add_survey(profile, "due@example.com", send_in=timedelta(minutes=-5))
    context.hub.notify(Topic.SURVEYS)
    qtbot.waitUntil(lambda: panel.due_label.text() == "1 due")


def test_a_sync_under_a_minute_ago_reads_just_now_and_an_overdue_one_due_now(
    qtbot: QtBot,
    context: AppContext,
    profile: Profile,
    bar: QStatusBar,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SEGMENT_WRITE_KEY", secrets.token_hex(16))
    panel = _panel(context, bar)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.facts is not None)
    assert panel.sync_label.text() == "Sync: never synced, due now"

    run = start_run(profile.database, RunKind.SYNC, clock=profile.clock)
    finish_run(profile.database, run, status=RunStatus.OK, clock=profile.clock)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.sync_label.text().startswith("Sync: last just now, next "))


def test_only_a_missing_key_is_named(
    qtbot: QtBot,
    context: AppContext,
    bar: QStatusBar,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CALLEXA_API_KEY", secrets.token_hex(16))
    panel = _panel(context, bar)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.facts is not None)

    assert panel.keys_label.text() == "Keys: Segment missing"
    assert "Segment write key: not set" in panel.keys_label.toolTip()
