"""The Activity tab lists imports, sends and syncs with their counts and errors."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from callexa_desktop.app.activity_view import ActivityModel, ActivityView
from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.core.activity import RunKind, RunStatus, finish_run, start_run
from callexa_desktop.core.profile import Profile
from callexa_desktop.services.sending import SendSummary
from callexa_desktop.services.syncing import SyncSummary


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
    assert "Read 10 records: 8 new, 2 rejected." in view.details.toPlainText()
    assert view.show_rejections.isEnabled()
    with qtbot.waitSignal(view.rejections_requested) as asked:
        view.show_rejections.click()
    assert asked.args == [imported]

    view.table.selectRow(0)
    assert not view.show_rejections.isEnabled()


def _finished(profile: Profile, kind: str, status: str, summary: dict, message: str) -> None:
    run = start_run(profile.database, kind, source="http://127.0.0.1:9", clock=profile.clock)
    finish_run(
        profile.database, run, status=status, summary=summary, message=message, clock=profile.clock
    )


def _details_of_the_only_run(qtbot: QtBot, context: AppContext) -> ActivityView:
    view = _view(qtbot, context)
    with qtbot.waitSignal(view.model.modelReset):
        view.refresh()
    view.table.selectRow(0)
    return view


def test_a_sync_reads_in_plain_words_without_empty_or_false_fields(
    qtbot: QtBot, context: AppContext, profile: Profile
) -> None:
    summary = SyncSummary(run_id=1, endpoint="http://127.0.0.1:9", to_send=28, delivered=28)
    # As the sync records it: the emails without ids are counted, not listed.
    _finished(
        profile,
        RunKind.SYNC,
        RunStatus.OK,
        {**summary.as_dict(), "not_syncable": 1, "rejected": 0},
        "Delivered 28 of 28 ratings (1 customer without userId or anonymousId).",
    )

    view = _details_of_the_only_run(qtbot, context)
    text = view.details.toPlainText()

    assert "Delivered 28 ratings to Segment." in text
    assert "1 customer can't be synced yet (no userId or anonymousId)." in text
    for raw in ("dry run", "dry_run", "stopped", "cancelled", "False", "retries", "requests"):
        assert raw not in text


def test_a_send_says_how_many_failed_and_why(
    qtbot: QtBot, context: AppContext, profile: Profile
) -> None:
    summary = SendSummary(run_id=1, due=13, sent=12, failed=1)
    summary.failures.append(
        {
            "survey_id": 7,
            "email": "mia@example.com",
            "message": "Callexa refused the recipient mia@example.com as invalid (422).",
        }
    )
    _finished(profile, RunKind.SEND, RunStatus.OK, summary.as_dict(), summary.sentence())

    view = _details_of_the_only_run(qtbot, context)
    text = view.details.toPlainText()

    assert "Sent 12 surveys, 1 failed (invalid recipient)." in text
    assert "Failed: mia@example.com (invalid recipient)." in text
    assert "Budget" not in text  # no limit: nothing to say


def test_a_sync_stopped_by_a_refused_key_points_at_keys(
    qtbot: QtBot, context: AppContext, profile: Profile
) -> None:
    refused = (
        "Segment refused the write key (HTTP 401); nothing more was sent and every rating "
        "waits for the next sync. Store the right key with `callexa-desktop keys set segment` "
        "and check the endpoint region."
    )
    summary = SyncSummary(run_id=1, to_send=3, pending=3, stopped=refused)
    _finished(
        profile,
        RunKind.SYNC,
        RunStatus.FAILED,
        {**summary.as_dict(), "not_syncable": 0, "rejected": 0},
        summary.sentence(),
    )

    view = _details_of_the_only_run(qtbot, context)
    text = view.details.toPlainText()

    assert "Delivered 0 of 3 ratings to Segment." in text
    assert "3 ratings left for the next sync." in text
    assert "Segment refused the write key. Open Keys… to check or replace it." in text
    assert "callexa-desktop keys set" not in text
    message = _cell(view, 0, ActivityModel.MESSAGE)
    assert message.startswith("Delivered 0 of 3 ratings")
    assert "Open Keys…" in message
    assert "callexa-desktop keys set" not in message


def test_the_details_expander_shows_every_recorded_value_for_support(
    qtbot: QtBot, context: AppContext, profile: Profile
) -> None:
    summary = SyncSummary(run_id=1, to_send=2, delivered=2, requests=1)
    _finished(
        profile,
        RunKind.SYNC,
        RunStatus.OK,
        {**summary.as_dict(), "not_syncable": 0, "rejected": 0},
        summary.sentence(),
    )
    view = _details_of_the_only_run(qtbot, context)
    assert "requests" not in view.details.toPlainText()

    view.raw_toggle.click()

    text = view.details.toPlainText()
    assert "dry_run: false" in text
    assert "requests: 1" in text
    assert "stopped: " in text
    assert "Delivered 2 ratings to Segment." in text  # the plain words stay on top
    view.raw_toggle.click()
    assert "dry_run" not in view.details.toPlainText()
