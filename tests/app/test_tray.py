"""The tray menu asks for actions; closing the window goes to the tray only when chosen."""

from __future__ import annotations

from PySide6.QtGui import QCloseEvent, QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QMainWindow
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


class Quits:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


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


def test_closing_hides_into_the_tray_when_the_operator_chose_it(qtbot: QtBot) -> None:
    window = _window(qtbot)
    tray = Tray(_icon(), title="Callexa Desktop")
    tray.show()
    quits = Quits()
    policy = TrayClosePolicy(window, tray=tray, keep_running=lambda: True, quit_application=quits)

    with qtbot.waitSignal(policy.hidden_to_tray, timeout=1000):
        window.close()

    assert not window.isVisible()
    QApplication.processEvents()  # run any queued quit, so its absence means something
    assert quits.count == 0


def test_closing_quits_when_the_operator_did_not_choose_the_tray(qtbot: QtBot) -> None:
    window = _window(qtbot)
    tray = Tray(_icon(), title="Callexa Desktop")
    tray.show()
    quits = Quits()
    TrayClosePolicy(window, tray=tray, keep_running=lambda: False, quit_application=quits)

    window.close()
    QApplication.processEvents()

    assert quits.count == 1


def test_without_a_tray_closing_quits_even_if_the_setting_is_on(qtbot: QtBot) -> None:
    window = _window(qtbot)
    quits = Quits()
    TrayClosePolicy(window, tray=None, keep_running=lambda: True, quit_application=quits)

    window.close()

    qtbot.waitUntil(lambda: quits.count == 1, timeout=1000)


def test_quit_from_the_tray_closes_the_window_for_real(qtbot: QtBot) -> None:
    window = _window(qtbot)
    tray = Tray(_icon(), title="Callexa Desktop")
    tray.show()
    quits = Quits()
    policy = TrayClosePolicy(window, tray=tray, keep_running=lambda: True, quit_application=quits)
    window.close()  # into the tray first
    assert not window.isVisible()

    policy.quit()

    qtbot.waitUntil(lambda: quits.count == 1, timeout=1000)


class StubbornWindow(QMainWindow):
    """A window whose own close handling refuses (e.g. a job is still running)."""

    def closeEvent(self, event: QCloseEvent) -> None:
        event.ignore()


def test_a_window_that_refuses_to_close_does_not_end_the_application(qtbot: QtBot) -> None:
    window = StubbornWindow()
    qtbot.addWidget(window)
    window.show()
    quits = Quits()
    TrayClosePolicy(window, tray=None, keep_running=lambda: False, quit_application=quits)

    window.close()
    QApplication.processEvents()  # the decision to quit is taken on the next turn

    assert window.isVisible()
    assert quits.count == 0
