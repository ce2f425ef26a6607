"""The assembled window: Sync button, keys action, demo title, tray and close behaviour."""

from __future__ import annotations

import gc
import secrets
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from callexa_desktop.app.activity_view import ActivityModel
from callexa_desktop.app.demo import open_demo_profile
from callexa_desktop.app.error_dialog import OPEN_KEYS_OBJECT_NAME
from callexa_desktop.app.keys_dialog import KeysDialog
from callexa_desktop.app.launcher import Desktop, assemble, run_window
from callexa_desktop.app.main_window import MainWindow
from callexa_desktop.app.single_instance import SingleInstance
from callexa_desktop.core.activity import RunKind, RunStatus
from callexa_desktop.core.models import Customer
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.responses import ResponseRecord, record_responses
from callexa_desktop.core.settings import set_setting
from callexa_desktop.services.keychain import Keychain, KeyName
from callexa_desktop.services.sandbox import Sandbox
from tests.conftest import FakeClock


@pytest.fixture
def desktop(qtbot: QtBot, profile: Profile, memory_keychain: Keychain) -> Iterator[Desktop]:
    key = secrets.token_hex(16)
    with Sandbox(segment_write_key=key) as sandbox:
        with profile.database.session() as session:
            set_setting(session, "segment_endpoint", sandbox.segment_endpoint)
        memory_keychain.set(KeyName.SEGMENT, key)
        made = assemble(profile, memory_keychain, with_tray=True)
        made.sandbox = sandbox  # type: ignore[attr-defined]
        qtbot.addWidget(made.window)
        made.window.show()
        yield made
        made.sync.stop()
        assert made.context.shutdown(10_000)


def _rated_customer(profile: Profile, email: str) -> None:
    """A customer Segment knows (userId) with an answer waiting to be synced."""
    now = profile.clock()
    with profile.database.session() as session:
        session.add(Customer(email=email, user_id=f"user-{email}"))
    with profile.database.session() as session:
        record_responses(
            session,
            [ResponseRecord(email, 9, "", now - timedelta(hours=1), "test")],
            source="test",
            now=now,
        )


def _activity_rows(model: ActivityModel) -> list[tuple[str, str]]:
    rows = [model.run_at(row) for row in range(model.rowCount())]
    return [(run.kind, run.status) for run in rows if run is not None]


def test_the_sync_button_drives_a_sync_and_activity_shows_it(
    qtbot: QtBot, desktop: Desktop, profile: Profile
) -> None:
    _rated_customer(profile, "ann@example.com")
    assert desktop.sync_action in desktop.window.toolbar.actions()
    model = desktop.window.activity_view.model

    with qtbot.waitSignal(desktop.sync.sync_finished, timeout=20_000):
        desktop.sync_action.trigger()
    qtbot.waitUntil(lambda: (RunKind.SYNC, RunStatus.OK) in _activity_rows(model), timeout=10_000)

    assert len(desktop.sandbox.segment.snapshot()) == 1  # type: ignore[attr-defined]
    assert desktop.sync_action.isEnabled()


def test_a_refused_write_key_points_at_the_keys_dialog_and_opens_it(
    qtbot: QtBot, desktop: Desktop, profile: Profile
) -> None:
    _rated_customer(profile, "ann@example.com")
    desktop.sandbox.segment.write_key = secrets.token_hex(16)  # type: ignore[attr-defined]

    with qtbot.waitSignal(desktop.sync.sync_finished, timeout=20_000):
        desktop.sync_action.trigger()
    box = desktop.window.last_error_box
    assert box is not None

    assert box.text() == (
        "Segment refused the write key. Open Keys… to check or replace it. If the key is "
        "right, check the Segment endpoint in Settings."
    )
    assert "HTTP 401" in box.detailedText()
    status = desktop.window.status_message
    assert status.text() == "Sync failed: Segment refused the write key."
    assert "Open Keys…" in status.toolTip()
    assert "callexa-desktop keys set" not in status.toolTip()
    [open_keys] = [b for b in box.buttons() if b.objectName() == OPEN_KEYS_OBJECT_NAME]
    open_keys.click()
    assert isinstance(desktop.keys_dialog, KeysDialog)
    qtbot.waitUntil(desktop.keys_dialog.isVisible)
    qtbot.waitUntil(lambda: not box.isVisible())
    desktop.keys_dialog.close()


def test_the_keys_action_opens_the_keys_dialog(qtbot: QtBot, desktop: Desktop) -> None:
    assert desktop.keys_action in desktop.window.menu("Tools").actions()

    desktop.keys_action.trigger()

    assert isinstance(desktop.keys_dialog, KeysDialog)
    qtbot.waitUntil(desktop.keys_dialog.isVisible)
    desktop.keys_dialog.close()


def test_closing_with_keep_running_in_the_tray_hides_the_window(
    qtbot: QtBot, desktop: Desktop, profile: Profile
) -> None:
    with profile.database.session() as session:
        set_setting(session, "close_to_tray", "on")
    closed: list[bool] = []
    desktop.window.closed.connect(lambda: closed.append(True))

    desktop.window.close()

    assert not desktop.window.isVisible()
    assert closed == []
    desktop.tray.quit_action.trigger()  # type: ignore[union-attr]
    assert closed == [True]


def test_closing_without_the_tray_setting_closes_the_window(qtbot: QtBot, desktop: Desktop) -> None:
    with qtbot.waitSignal(desktop.window.closed, timeout=1000):
        desktop.window.close()


def test_the_demo_profile_opens_with_demo_in_the_title_and_status_bar(
    qtbot: QtBot, clock: FakeClock
) -> None:
    demo = open_demo_profile(clock=clock)
    desktop = assemble(demo.profile, demo.keychain, demo=demo, with_tray=False)
    try:
        desktop.window.show()

        assert "DEMO" in desktop.window.windowTitle()
        assert desktop.window.status_panel.demo_label.isVisible()
        assert "DEMO" in desktop.window.status_panel.demo_label.text()
    finally:
        desktop.close()  # closes the window (it saves its state) before deleting the demo

    assert not demo.folder.exists()


def test_a_second_launch_for_the_same_folder_raises_the_first_and_exits(
    qtbot: QtBot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = SingleInstance(tmp_path / "profile")
    assert first.claim()
    try:
        with qtbot.waitSignal(first.raise_requested, timeout=5000):
            status = run_window(tmp_path / "profile", demo=False)
    finally:
        first.release()

    assert status == 0
    assert "already open" in capsys.readouterr().err
    assert not (tmp_path / "profile").exists()  # the second launch opened nothing


def test_run_window_opens_the_demo_labelled_demo_and_deletes_it_when_quitting(
    qtbot: QtBot, tmp_path: Path
) -> None:
    seen: list[str] = []
    folders: list[Path] = []
    collecting_automatically: list[bool] = []

    def look_then_quit() -> None:
        collecting_automatically.append(gc.isenabled())
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, MainWindow) and widget.isVisible():
                seen.append(widget.windowTitle())
                folders.append(widget.context.profile.data_dir)
                widget.quit()

    QTimer.singleShot(0, look_then_quit)
    status = run_window(tmp_path / "unused", demo=True)

    assert status == 0
    assert len(seen) == 1
    assert "DEMO" in seen[0]
    assert not folders[0].exists()
    # While the window ran, cycles were collected on the GUI thread only; afterwards as before.
    assert collecting_automatically == [False]
    assert gc.isenabled()


def test_a_blank_profile_opens_with_the_first_run_assistant(qtbot: QtBot, tmp_path: Path) -> None:
    seen: list[str] = []

    def look_then_quit() -> None:
        visible = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
        seen.extend(type(widget).__name__ for widget in visible)
        for widget in visible:
            if isinstance(widget, MainWindow):
                widget.quit()

    QTimer.singleShot(0, look_then_quit)
    status = run_window(tmp_path / "profile", demo=False)

    assert status == 0
    assert "FirstRunWizard" in seen
    assert "MainWindow" in seen
    assert (tmp_path / "profile" / "callexa.sqlite3").exists()


def test_a_termination_signal_quits_cleanly_and_the_demo_is_deleted(
    qtbot: QtBot, tmp_path: Path
) -> None:
    folders: list[Path] = []
    handler_before = signal.getsignal(signal.SIGTERM)

    def terminate() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, MainWindow) and widget.isVisible():
                folders.append(widget.context.profile.data_dir)
        signal.raise_signal(signal.SIGTERM)

    QTimer.singleShot(0, terminate)
    status = run_window(tmp_path / "unused", demo=True)

    assert status == 0
    assert len(folders) == 1
    assert not folders[0].exists()
    assert signal.getsignal(signal.SIGTERM) is handler_before
