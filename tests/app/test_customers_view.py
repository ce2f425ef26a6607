"""The customers view: last decision in plain words, search, and a detail pane with history."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.customers_view import CustomersModel, CustomersView
from callexa_desktop.app.time_text import local_time
from callexa_desktop.core.importing import import_files
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.settings import set_setting
from tests.app.factories import column_texts


def _identify(email: str, timestamp: str, created: str, message_id: str, name: str) -> str:
    return json.dumps(
        {
            "type": "identify",
            "messageId": message_id,
            "userId": f"user-{email.split('@')[0]}",
            "timestamp": timestamp,
            "traits": {"email": email, "createdAt": created, "name": name},
        }
    )


def _import(profile: Profile, folder: Path) -> None:
    with profile.database.session() as session:
        set_setting(session, "min_delay_days", "3")
        set_setting(session, "max_delay_days", "14")
    path = folder / "customers.ndjson"
    lines = [
        _identify("ann@example.com", "2026-11-20T09:00:00Z", "2026-11-20T08:00:00Z", "a1", "Ann"),
        _identify("ann@example.com", "2026-11-28T09:00:00Z", "2026-11-20T08:00:00Z", "a2", "Ann"),
        _identify("old@example.com", "2026-11-29T09:00:00Z", "2026-01-01T00:00:00Z", "o1", "Ola"),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_files(profile, [path])


def _view(qtbot: QtBot, context: AppContext) -> CustomersView:
    view = CustomersView(context)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.model.loaded):
        view.model.refresh()
    return view


def test_last_decision_reads_as_a_sentence(
    qtbot: QtBot, context: AppContext, profile: Profile, tmp_path: Path
) -> None:
    _import(profile, tmp_path)
    view = _view(qtbot, context)

    assert column_texts(view.model, CustomersModel.EMAIL) == ["ann@example.com", "old@example.com"]
    assert column_texts(view.model, CustomersModel.DECISION) == [
        "No new survey: one is already waiting in the queue",
        "Not surveyed: customer older than 14 days when identified",
    ]
    assert view.count_label.text() == "2 customers"


def test_search_narrows_the_customers(
    qtbot: QtBot, context: AppContext, profile: Profile, tmp_path: Path
) -> None:
    _import(profile, tmp_path)
    view = _view(qtbot, context)
    with qtbot.waitSignal(view.model.loaded):
        qtbot.keyClicks(view.search, "ola")

    assert column_texts(view.model, CustomersModel.EMAIL) == ["old@example.com"]


def test_choosing_a_customer_shows_identify_history_and_surveys(
    qtbot: QtBot, context: AppContext, profile: Profile, tmp_path: Path
) -> None:
    _import(profile, tmp_path)
    view = _view(qtbot, context)
    with qtbot.waitSignal(view.detail_shown):
        view.table.selectRow(0)

    text = view.detail.toPlainText()
    assert "ann@example.com — Ann" in text
    assert "Identify history (newest first)" in text
    assert text.count("customers.ndjson:") == 2
    assert "Survey scheduled" in text
    # Three days after sign-up, already past at the test's now: due.
    assert local_time(datetime(2026, 11, 23, 8, 0, tzinfo=UTC)) in text
    assert "Due" in text
    assert "Responses" in text


def test_changed_rules_reword_the_decision(
    qtbot: QtBot, context: AppContext, profile: Profile, tmp_path: Path
) -> None:
    _import(profile, tmp_path)
    view = _view(qtbot, context)
    with profile.database.session() as session:
        set_setting(session, "max_delay_days", "30")
    with qtbot.waitSignal(view.model.loaded):
        context.hub.notify(Topic.SETTINGS)

    assert column_texts(view.model, CustomersModel.DECISION)[1] == (
        "Not surveyed: customer older than 30 days when identified"
    )


def test_hovering_a_last_decision_shows_the_whole_sentence(
    qtbot: QtBot, context: AppContext, profile: Profile, tmp_path: Path
) -> None:
    _import(profile, tmp_path)
    view = _view(qtbot, context)
    model = view.model

    tip = model.data(model.index(1, CustomersModel.DECISION), Qt.ItemDataRole.ToolTipRole)

    assert tip == "Not surveyed: customer older than 14 days when identified"
    assert model.data(model.index(1, CustomersModel.EMAIL), Qt.ItemDataRole.ToolTipRole) is None


def _shown_at_1100_pixels(qtbot: QtBot, view: CustomersView) -> None:
    # The Customers tab of a 1100 x 700 window: about 1080 pixels across.
    view.resize(1080, 600)
    view.show()
    qtbot.waitExposed(view)


def _widths(view: CustomersView) -> list[int]:
    header = view.table.horizontalHeader()
    return [header.sectionSize(column) for column in range(view.model.columnCount())]


def test_every_column_fits_at_1100_pixels_without_a_horizontal_scrollbar(
    qtbot: QtBot, context: AppContext, profile: Profile, tmp_path: Path
) -> None:
    _import(profile, tmp_path)
    view = CustomersView(context)
    qtbot.addWidget(view)
    _shown_at_1100_pixels(qtbot, view)
    with qtbot.waitSignal(view.model.loaded):
        view.model.refresh()
    metrics = view.table.fontMetrics()
    header = view.table.horizontalHeader()

    qtbot.waitUntil(lambda: sum(_widths(view)) <= view.table.viewport().width())
    assert view.table.horizontalScrollBar().maximum() == 0
    for column in (CustomersModel.SURVEYED, CustomersModel.IDENTIFIED):
        widest = max(metrics.horizontalAdvance(text) for text in column_texts(view.model, column))
        assert header.sectionSize(column) > widest  # dates are never cut
    assert header.sectionSize(CustomersModel.EMAIL) > metrics.horizontalAdvance("ann@example.com")
    # The decision sentence takes the room that is left.
    assert header.sectionSize(CustomersModel.DECISION) >= 200


def test_the_operators_own_column_widths_come_back_and_are_not_refitted(
    qtbot: QtBot, context: AppContext, profile: Profile, tmp_path: Path
) -> None:
    _import(profile, tmp_path)
    first = _view(qtbot, context)
    first.table.horizontalHeader().resizeSection(CustomersModel.EMAIL, 333)
    first.table.horizontalHeader().resizeSection(CustomersModel.NAME, 177)
    first.save_state(context.window_settings)

    again = CustomersView(context)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.model.loaded):
        again.restore_state(context.window_settings)
    _shown_at_1100_pixels(qtbot, again)

    assert _widths(again)[CustomersModel.EMAIL] == 333
    assert _widths(again)[CustomersModel.NAME] == 177
