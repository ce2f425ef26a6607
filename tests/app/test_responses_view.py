"""The responses view lists every reply kept locally, newest first."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.responses_view import ResponsesModel, ResponsesView
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.responses import import_response_files
from tests.app.factories import column_texts


def _import_responses(profile: Profile, folder: Path) -> None:
    path = folder / "responses.csv"
    path.write_text(
        "email,rating,comment,answered_at\n"
        "ann@example.com,9,Lovely,2026-11-20T10:00:00Z\n"
        "bob@example.com,3,Too slow,2026-11-25T10:00:00Z\n",
        encoding="utf-8",
    )
    import_response_files(profile, [path])


def test_responses_are_listed_newest_first(
    qtbot: QtBot, context: AppContext, profile: Profile, tmp_path: Path
) -> None:
    _import_responses(profile, tmp_path)
    view = ResponsesView(context)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.model.loaded):
        view.model.refresh()

    assert column_texts(view.model, ResponsesModel.EMAIL) == ["bob@example.com", "ann@example.com"]
    assert column_texts(view.model, ResponsesModel.RATING) == ["3", "9"]
    assert column_texts(view.model, ResponsesModel.COMMENT) == ["Too slow", "Lovely"]
    assert view.count_label.text() == "2 responses kept on this computer"


def test_sorting_by_rating_and_refreshing_on_new_responses(
    qtbot: QtBot, context: AppContext, profile: Profile, tmp_path: Path
) -> None:
    view = ResponsesView(context)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.model.loaded):
        view.model.refresh()
    assert view.model.rowCount() == 0

    _import_responses(profile, tmp_path)
    with qtbot.waitSignal(view.model.loaded):
        context.hub.notify(Topic.RESPONSES)
    with qtbot.waitSignal(view.model.loaded):
        view.model.apply_sort("rating", descending=True)

    assert column_texts(view.model, ResponsesModel.RATING) == ["9", "3"]
