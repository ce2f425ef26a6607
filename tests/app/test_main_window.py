"""The main window: tabs, hooks for other parts, drag and drop, settings, state, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QAction, QDropEvent
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from callexa_desktop.app import asking
from callexa_desktop.app.context import AppContext
from callexa_desktop.app.error_dialog import OPEN_KEYS_OBJECT_NAME
from callexa_desktop.app.main_window import MainWindow
from callexa_desktop.app.replan_flow import ReplanDialog
from callexa_desktop.app.workers import TaskError, WorkerControl
from callexa_desktop.core.errors import UnreadableFile
from callexa_desktop.core.profile import Profile


@pytest.fixture
def window(qtbot: QtBot, context: AppContext) -> Iterator[MainWindow]:
    made = MainWindow(context)
    qtbot.addWidget(made)
    made.show()
    qtbot.waitUntil(lambda: made.status_panel.facts is not None)
    yield made
    made.close()


def _export(folder: Path) -> Path:
    path = folder / "drop.ndjson"
    path.write_text(
        json.dumps(
            {
                "type": "identify",
                "timestamp": "2026-11-29T10:00:00Z",
                "traits": {"email": "dropped@example.com"},
            }
        )
        + "\n",
        encoding="utf-8",
    )
    return path


def test_window_has_the_four_tabs_and_a_status_bar(window: MainWindow) -> None:
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert tabs == ["Queue", "Customers", "Responses", "Activity"]
    assert window.windowTitle() == "Callexa Desktop"
    assert window.status_panel.keys_label.text() == "Keys: Callexa missing · Segment missing"
    assert window.status_panel.due_label.text() == "0 due"
    assert window.status_panel.budget_label.text() == "Budget: no limit"
    assert window.status_panel.sync_label.text() == "Sync: never synced, no Segment key"


def test_a_demo_profile_says_demo_in_title_and_status_bar(qtbot: QtBot, tmp_path: Path) -> None:
    profile = Profile.open(tmp_path / "demo", demo=True)
    context = AppContext(profile)
    window = MainWindow(context)
    qtbot.addWidget(window)
    try:
        assert window.windowTitle() == "Callexa Desktop — DEMO"
        assert not window.status_panel.demo_label.isHidden()
    finally:
        window.close()
        context.shutdown()
        profile.close()


def test_a_status_message_never_hides_the_demo_mark(qtbot: QtBot, tmp_path: Path) -> None:
    profile = Profile.open(tmp_path / "demo", demo=True)
    context = AppContext(profile)
    window = MainWindow(context)
    qtbot.addWidget(window)
    try:
        window.show()
        qtbot.waitExposed(window)

        window.show_message("Settings saved.")

        assert window.status_message.text() == "Settings saved."
        assert window.status_panel.demo_label.isVisible()
    finally:
        window.close()
        context.shutdown()
        profile.close()


def _demo_window_at_1100(qtbot: QtBot, context: AppContext) -> MainWindow:
    context.profile.demo = True  # the DEMO mark takes its room in the status bar too
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.resize(1100, 700)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.status_panel.facts is not None)
    return window


def test_a_sync_result_fits_beside_the_status_facts_at_1100_pixels(
    qtbot: QtBot, context: AppContext
) -> None:
    window = _demo_window_at_1100(qtbot, context)
    message = window.status_message

    window.show_message(
        "Sync finished: 28 ratings delivered.",
        details="Delivered 28 of 28 ratings (1 customer without userId or anonymousId).",
    )

    assert message.text() == "Sync finished: 28 ratings delivered."
    assert not message.cut
    assert message.geometry().right() < window.status_panel.demo_label.geometry().left()
    assert "1 customer without userId or anonymousId" in message.toolTip()
    window.close()


def test_a_message_longer_than_its_room_is_cut_and_shown_whole_in_its_tooltip(
    qtbot: QtBot, context: AppContext
) -> None:
    window = _demo_window_at_1100(qtbot, context)
    message = window.status_message
    long = "Re-plan applied: " + ", ".join(f"{n} surveys moved" for n in range(20)) + "."

    window.show_message(long)

    assert message.cut
    assert message.text().endswith("…")
    assert message.geometry().right() < window.status_panel.demo_label.geometry().left()
    assert "19 surveys moved." in message.toolTip()
    window.close()


def test_a_message_goes_away_after_its_time(qtbot: QtBot, window: MainWindow) -> None:
    window.show_message("1 survey held.", 50)
    assert window.status_message.text() == "1 survey held."

    qtbot.waitUntil(lambda: window.status_message.text() == "", timeout=2000)
    assert window.status_message.toolTip() == ""


def test_other_parts_add_menu_items_and_toolbar_buttons(window: MainWindow) -> None:
    keys = QAction("Keys…")
    window.add_action("Tools", keys, toolbar=True)
    sync = QAction("Sync now")
    window.add_action("Sync", sync)

    assert keys in window.menu("Tools").actions()
    assert keys in window.toolbar.actions()
    assert sync not in window.toolbar.actions()
    menus = [action.text() for action in window.menuBar().actions()]
    assert menus == ["File", "Queue", "Tools", "Sync", "Help"]


def test_dropping_a_file_on_the_window_imports_it(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(_export(tmp_path)))])
    drop = QDropEvent(
        QPoint(10, 10),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.imports.finished, timeout=20_000) as finished:
        window.dropEvent(drop)

    assert finished.args[0].accepted == 1
    qtbot.waitUntil(lambda: window.queue_view.model.rowCount() == 1)


def test_bad_settings_are_refused_and_good_ones_saved_then_replan_offered(
    qtbot: QtBot,
    window: MainWindow,
    profile: Profile,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    offered: list[str] = []

    def answer(_parent: object, title: str, _text: str, **_kw: object) -> bool:
        offered.append(title)
        return True

    monkeypatch.setattr(asking, "confirm", answer)
    dialog = window.open_settings()
    dialog.max_delay.setValue(14)
    dialog.min_delay.setValue(20)
    assert not dialog.ok_button.isEnabled()
    assert "cannot be longer" in dialog.problem_text()

    dialog.min_delay.setValue(3)
    dialog.ok_button.click()
    # Saved in a worker, then the question, then the preview computed in another worker.
    qtbot.waitUntil(lambda: window.replans.dialog is not None)

    settings = profile.settings()
    assert (settings.min_delay_days, settings.max_delay_days) == (3, 14)
    assert offered == ["Re-plan the queue?"]
    assert isinstance(window.replans.dialog, ReplanDialog)


def test_window_state_comes_back_in_a_new_window(
    qtbot: QtBot, context: AppContext, window: MainWindow
) -> None:
    window.tabs.setCurrentIndex(3)
    window.queue_view.set_status_filter("due")
    window.queue_view.search.setText("ann")
    window.save_state()

    again = MainWindow(context)
    qtbot.addWidget(again)
    assert again.tabs.currentIndex() == 3
    assert again.queue_view.status_filter.currentText() == "Due now"
    assert again.queue_view.search.text() == "ann"
    assert again.queue_view.model.query.text == "ann"
    again.close()


def test_window_state_is_kept_in_the_profile_folder(window: MainWindow, profile: Profile) -> None:
    window.save_state()

    assert (profile.data_dir / "window-state.ini").exists()
    assert window.context.window_settings.fileName() == str(profile.data_dir / "window-state.ini")


def test_an_error_in_a_worker_shows_a_sentence_with_details_not_a_traceback(
    qtbot: QtBot, window: MainWindow
) -> None:
    def job(_control: WorkerControl) -> None:
        raise UnreadableFile("The file export.ndjson is not a text file.") from OSError("bad magic")

    window.context.report_error = window.show_error
    task = window.context.run(job, description="testing")
    with qtbot.waitSignal(task.finished):
        pass

    box = window.last_error_box
    assert isinstance(box, QMessageBox)
    assert box.text() == "The file export.ndjson is not a text file."
    assert "OSError: bad magic" in box.detailedText()
    assert "Traceback" not in box.text() + box.detailedText()
    box.close()


def test_an_unexpected_error_is_a_sentence_too(qtbot: QtBot, window: MainWindow) -> None:
    def job(_control: WorkerControl) -> None:
        raise ZeroDivisionError("division by zero")

    window.context.report_error = window.show_error
    task = window.context.run(job, description="counting surveys")
    with qtbot.waitSignal(task.finished):
        pass

    box = window.last_error_box
    assert box is not None
    assert box.text().startswith("Something went wrong while counting surveys")
    assert 'File "' not in box.detailedText()
    box.close()


def test_close_interceptor_keeps_the_window_alive_hidden(qtbot: QtBot, window: MainWindow) -> None:
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))

    def hide_instead() -> bool:
        window.hide()
        return True

    window.set_close_interceptor(hide_instead)
    window.close()
    assert not window.isVisible()
    assert closed == []

    window.quit()
    assert closed == [True]


def test_errors_reported_while_the_window_is_hidden_still_show(
    window: MainWindow,
) -> None:
    window.hide()
    box = window.show_error(TaskError("Segment refused the write key.", ""))
    assert box.text() == "Segment refused the write key."
    box.close()


def test_an_error_about_a_key_offers_the_keys_dialog_and_still_closes_with_escape(
    qtbot: QtBot, window: MainWindow
) -> None:
    opened: list[bool] = []
    window.set_keys_opener(lambda: opened.append(True))
    box = window.show_error(
        TaskError("No Segment write key is set; store it with `callexa-desktop keys set segment`.")
    )
    qtbot.waitUntil(box.isVisible)
    assert box.text() == "No Segment write key is set. Open Keys… to add it."
    assert [b.text() for b in box.buttons() if b.objectName() == OPEN_KEYS_OBJECT_NAME] == [
        "Open Keys…"
    ]

    qtbot.keyClick(box, Qt.Key.Key_Escape)

    qtbot.waitUntil(lambda: not box.isVisible())
    assert opened == []
