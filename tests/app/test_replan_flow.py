"""Re-plan from the window: a preview of what changes, applied only when accepted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from callexa_desktop.app.context import AppContext
from callexa_desktop.app.replan_flow import ReplanChangesModel, ReplanController, ReplanDialog
from callexa_desktop.core.importing import import_files
from callexa_desktop.core.models import SurveyStatus
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.settings import set_setting
from tests.app.factories import survey_states


def _import_two_customers(profile: Profile, folder: Path) -> None:
    records = [
        {"email": "new@example.com", "createdAt": "2026-11-29T10:00:00Z"},
        {"email": "old@example.com", "createdAt": "2026-10-01T10:00:00Z"},
    ]
    path = folder / "customers.ndjson"
    path.write_text(
        "\n".join(
            json.dumps({"type": "identify", "timestamp": "2026-11-29T10:00:00Z", "traits": traits})
            for traits in records
        ),
        encoding="utf-8",
    )
    import_files(profile, [path])
    with profile.database.session() as session:
        set_setting(session, "min_delay_days", "3")
        set_setting(session, "max_delay_days", "14")


def _preview(qtbot: QtBot, controller: ReplanController) -> ReplanDialog:
    task = controller.start()
    with qtbot.waitSignal(task.finished):
        pass
    assert controller.dialog is not None
    return controller.dialog


def _states_by_send_time(profile: Profile) -> list[tuple[str, datetime]]:
    return sorted(survey_states(profile).values(), key=lambda state: state[1])


def test_preview_lists_the_changes_and_changes_nothing_yet(
    qtbot: QtBot, context: AppContext, profile: Profile, tmp_path: Path
) -> None:
    _import_two_customers(profile, tmp_path)
    before = survey_states(profile)
    window = QWidget()
    qtbot.addWidget(window)
    dialog = _preview(qtbot, ReplanController(context, window))

    assert "1 survey moves to a new time" in dialog.sentence.text()
    assert "(1 because the customer is now too old)" in dialog.sentence.text()
    model = dialog.table.model()
    assert isinstance(model, ReplanChangesModel)
    rows = {
        model.data(model.index(row, 0)): model.data(model.index(row, 2))
        for row in range(model.rowCount())
    }
    assert rows["old@example.com"] == "Cancelled: the customer is now too old"
    assert rows["new@example.com"].startswith("2026-12-0")
    assert survey_states(profile) == before


def test_applying_the_preview_moves_and_cancels(
    qtbot: QtBot, context: AppContext, profile: Profile, tmp_path: Path
) -> None:
    _import_two_customers(profile, tmp_path)
    window = QWidget()
    qtbot.addWidget(window)
    controller = ReplanController(context, window)
    dialog = _preview(qtbot, controller)
    with qtbot.waitSignal(controller.applied) as applied:
        dialog.accept()

    assert applied.args == [2]
    states = _states_by_send_time(profile)
    assert states[0] == (SurveyStatus.CANCELLED, datetime(2026, 11, 29, 10, tzinfo=UTC))
    assert states[1] == (SurveyStatus.SCHEDULED, datetime(2026, 12, 2, 10, tzinfo=UTC))


def test_cancelling_the_preview_leaves_the_queue_alone(
    qtbot: QtBot, context: AppContext, profile: Profile, tmp_path: Path
) -> None:
    _import_two_customers(profile, tmp_path)
    before = survey_states(profile)
    window = QWidget()
    qtbot.addWidget(window)
    controller = ReplanController(context, window)
    dialog = _preview(qtbot, controller)
    dialog.reject()

    assert controller.task is not None
    assert controller.task.description == "preparing the re-plan"  # no apply was started
    assert survey_states(profile) == before
