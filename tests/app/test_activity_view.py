"""The Activity tab lists imports, sends and syncs with their counts and errors."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from callexa_desktop.app.activity_view import ActivityModel, ActivityView
from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.core.activity import RunKind, RunStatus, finish_run, start_run
from callexa_desktop.core.profile import Profile


def _record_runs(profile: Profile) -> tuple[int, int]:
    imported = start_run(profile.database, RunKind.IMPORT, source="a.ndjson", clock=profile.clock)
    finish_run(
        profile.database,
        imported,
        status=RunStatus.OK,
        summary={"run_id": imported, "read": 10, "accepted": 8, "rejected": 2},
        message="Imported a.ndjson.",
        clock=profile.clock,
    )
    synced = start_run(profile.database, RunKind.SYNC, clock=profile.clock)
    finish_run(
        profile.database,
        synced,
        status=RunStatus.FAILED,
        summary={"delivered": 0, "failed": 3},
        message="Segment refused the write key.",
        clock=profile.clock,
    )
    return imported, synced


def _view(qtbot: QtBot, context: AppContext) -> ActivityView:
    view = ActivityView(context)
    qtbot.addWidget(view)
    return view


def _cell(view: ActivityView, row: int, column: int) -> str:
    return view.model.data(view.model.index(row, column))


def test_runs_are_listed_newest_first_with_counts_and_errors(
    qtbot: QtBot, context: AppContext, profile: Profile
) -> None:
    _record_runs(profile)
    view = _view(qtbot, context)
    with qtbot.waitSignal(view.model.modelReset):
        view.refresh()

    assert view.model.rowCount() == 2
    assert _cell(view, 0, ActivityModel.WHAT) == "Sync to Segment"
    assert _cell(view, 0, ActivityModel.RESULT) == "Failed"
    assert _cell(view, 0, ActivityModel.MESSAGE) == "Segment refused the write key."
    assert _cell(view, 1, ActivityModel.WHAT) == "Import"
    assert _cell(view, 1, ActivityModel.COUNTS) == "read 10 · accepted 8 · rejected 2"


def test_a_new_run_appears_when_activity_changes(
    qtbot: QtBot, context: AppContext, profile: Profile
) -> None:
    view = _view(qtbot, context)
    with qtbot.waitSignal(view.model.modelReset):
        view.refresh()
    assert view.model.rowCount() == 0

    _record_runs(profile)
    with qtbot.waitSignal(view.model.modelReset):
        context.hub.notify(Topic.ACTIVITY)
    assert view.model.rowCount() == 2


def test_selecting_an_import_with_rejections_offers_to_show_them(
    qtbot: QtBot, context: AppContext, profile: Profile
) -> None:
    imported, _synced = _record_runs(profile)
    view = _view(qtbot, context)
    with qtbot.waitSignal(view.model.modelReset):
        view.refresh()

    view.table.selectRow(1)
    assert "accepted: 8" in view.details.toPlainText()
    assert view.show_rejections.isEnabled()
    with qtbot.waitSignal(view.rejections_requested) as asked:
        view.show_rejections.click()
    assert asked.args == [imported]

    view.table.selectRow(0)
    assert not view.show_rejections.isEnabled()
