"""The poll timer checks the watched folder on the interval from the settings, in a worker."""

from __future__ import annotations

import json
from pathlib import Path

from pytestqt.qtbot import QtBot
from sqlmodel import select

from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.poll_timer import PollTimer
from callexa_desktop.core.activity import RunKind
from callexa_desktop.core.models import ActivityRun, Survey
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.settings import set_setting


def _watch(profile: Profile, folder: Path, minutes: int = 5) -> None:
    folder.mkdir()
    with profile.database.session() as session:
        set_setting(session, "poll_folder", str(folder))
        set_setting(session, "poll_interval_minutes", str(minutes))


def test_no_source_means_no_timer(qtbot: QtBot, context: AppContext) -> None:
    timer = PollTimer(context)
    timer.apply_settings(context.settings())

    assert not timer.enabled


def test_the_interval_follows_the_settings(
    qtbot: QtBot, context: AppContext, profile: Profile, tmp_path: Path
) -> None:
    timer = PollTimer(context)
    _watch(profile, tmp_path / "drop", minutes=5)
    context.hub.notify(Topic.SETTINGS)
    assert timer.enabled
    assert timer.timer.interval() == 5 * 60_000

    with profile.database.session() as session:
        set_setting(session, "poll_folder", "")
    context.hub.notify(Topic.SETTINGS)
    assert not timer.enabled


def test_each_tick_imports_new_files_and_records_a_poll_run(
    qtbot: QtBot, context: AppContext, profile: Profile, tmp_path: Path
) -> None:
    folder = tmp_path / "drop"
    _watch(profile, folder)
    export = folder / "new.ndjson"
    export.write_text(
        json.dumps(
            {
                "type": "identify",
                "timestamp": "2026-11-29T10:00:00Z",
                "traits": {"email": "polled@example.com"},
            }
        )
        + "\n",
        encoding="utf-8",
    )
    timer = PollTimer(context)
    timer.apply_settings(context.settings())
    # Ticks are emitted by hand: the test does not wait five minutes for each.
    with qtbot.waitSignal(timer.checked, timeout=20_000) as first:
        timer.timer.timeout.emit()
    # A file just written may still be growing: the first check only notes it.
    assert first.args[0].folder.waiting_files == [str(export)]

    with qtbot.waitSignal(timer.checked, timeout=20_000) as checked:
        timer.timer.timeout.emit()
    assert checked.args[0].accepted == 1
    with profile.database.session() as session:
        assert len(session.exec(select(Survey)).all()) == 1
        kinds = [run.kind for run in session.exec(select(ActivityRun))]
    assert RunKind.POLL in kinds

    with qtbot.waitSignal(timer.checked, timeout=20_000) as again:
        timer.timer.timeout.emit()
    assert again.args[0].message() == "Nothing new to import."
