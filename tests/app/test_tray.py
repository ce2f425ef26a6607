"""The tray menu asks for actions; closing the window goes to the tray only when chosen."""

from __future__ import annotations

from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QMainWindow
from pytestqt.qtbot import QtBot

from callexa_desktop.app.tray import Tray, TrayClosePolicy


def _icon() -> QIcon:
    pixmap = QPixmap(16, 16)
    pixmap.fill()
    return QIcon(pixmap)


def _window(qtbot: QtBot) -> QMainWindow:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.show()
    return window


def test_each_tray_menu_item_asks_for_its_action(qtbot: QtBot) -> None:
    tray = Tray(_icon(), title="Callexa Desktop")
    pairs = [
        (tray.open_action, tray.open_requested),
        (tray.sync_action, tray.sync_requested),
        (tray.send_action, tray.send_requested),
        (tray.quit_action, tray.quit_requested),
    ]
    for action, signal in pairs:
        with qtbot.waitSignal(signal, timeout=1000):
            action.trigger()


def test_busy_actions_are_greyed_out(qtbot: QtBot) -> None:
    tray = Tray(_icon(), title="Callexa Desktop")
    tray.set_busy(syncing=True)
    assert not tray.sync_action.isEnabled()
    assert tray.send_action.isEnabled()
    tray.set_busy()
    assert tray.sync_action.isEnabled()


def _tray() -> Tray:
    tray = Tray(_icon(), title="Callexa Desktop")
    tray.show()
    return tray


def test_closing_hides_into_the_tray_when_the_operator_chose_it(qtbot: QtBot) -> None:
    window = _window(qtbot)
    tray = _tray()
    policy = TrayClosePolicy(window, tray=tray, keep_running=lambda: True)

    with qtbot.waitSignal(policy.hidden_to_tray, timeout=1000):
        assert policy.intercept_close() is True

    assert not window.isVisible()


def test_closing_really_closes_when_the_operator_did_not_choose_the_tray(qtbot: QtBot) -> None:
    window = _window(qtbot)
    policy = TrayClosePolicy(window, tray=_tray(), keep_running=lambda: False)

    assert policy.intercept_close() is False
    assert window.isVisible()


def test_without_a_tray_closing_really_closes_even_if_the_setting_is_on(qtbot: QtBot) -> None:
    window = _window(qtbot)
    policy = TrayClosePolicy(window, tray=None, keep_running=lambda: True)

    assert policy.intercept_close() is False
    assert window.isVisible()


def test_the_setting_is_asked_at_each_close(qtbot: QtBot) -> None:
    window = _window(qtbot)
    chosen = [False]
    policy = TrayClosePolicy(window, tray=_tray(), keep_running=lambda: chosen[0])
    assert policy.goes_to_tray() is False

    chosen[0] = True

    assert policy.goes_to_tray() is True
