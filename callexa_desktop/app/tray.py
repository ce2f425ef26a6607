"""The system tray icon: Open, Sync now, Send due, Quit — and closing the window to the tray.

The tray only asks; what the menu items do is wired by whoever creates it (the
launcher connects them to the window and the sync controller). ``TrayClosePolicy``
decides what closing the window means: hide it into the tray when the operator chose
"Keep running in the tray" and a tray exists; otherwise the window really closes (and
the launcher ends the application).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

log = logging.getLogger(__name__)

MESSAGE_MS = 8000


def tray_is_available() -> bool:
    """True when the desktop has a system tray (not every Linux desktop has one)."""
    return QSystemTrayIcon.isSystemTrayAvailable()


class Tray(QObject):
    """The tray icon and its menu. The signals say what the operator picked."""

    open_requested = Signal()
    sync_requested = Signal()
    send_requested = Signal()
    quit_requested = Signal()

    def __init__(self, icon: QIcon, *, title: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.menu = QMenu()
        self.open_action = self._add_action("Open Callexa Desktop", self.open_requested)
        self.menu.addSeparator()
        self.sync_action = self._add_action("Sync now", self.sync_requested)
        self.send_action = self._add_action("Send due surveys", self.send_requested)
        self.menu.addSeparator()
        self.quit_action = self._add_action("Quit", self.quit_requested)
        self.icon = QSystemTrayIcon(icon, self)
        self.icon.setToolTip(title)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def set_title(self, title: str) -> None:
        """The tooltip, e.g. "Callexa Desktop — 3 surveys due"."""
        self.icon.setToolTip(title)

    def set_busy(self, *, syncing: bool = False, sending: bool = False) -> None:
        """Grey out the actions that are already running."""
        self.sync_action.setEnabled(not syncing)
        self.send_action.setEnabled(not sending)

    def notify(self, title: str, message: str, *, problem: bool = False) -> None:
        """A desktop notification from the tray icon (ignored when the tray is hidden)."""
        if not self.icon.isVisible():
            return
        kind = (
            QSystemTrayIcon.MessageIcon.Warning
            if problem
            else QSystemTrayIcon.MessageIcon.Information
        )
        self.icon.showMessage(title, message, kind, MESSAGE_MS)

    def _add_action(self, text: str, signal: Signal) -> QAction:
        action = QAction(text, self.menu)
        action.triggered.connect(lambda _checked=False: signal.emit())
        self.menu.addAction(action)
        return action

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        # A plain click (or double click) opens the window; the menu has the rest.
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.open_requested.emit()


class TrayClosePolicy(QObject):
    """What closing the main window means: hide into the tray, or really close.

    Install ``intercept_close`` as the window's close interceptor
    (``MainWindow.set_close_interceptor``). ``keep_running()`` is asked at each close,
    since the setting may change while the app runs.
    """

    hidden_to_tray = Signal()

    def __init__(
        self, window: QWidget, *, tray: Tray | None, keep_running: Callable[[], bool]
    ) -> None:
        super().__init__(window)
        self._window = window
        self._tray = tray
        self._keep_running = keep_running
        self._told_once = False

    def goes_to_tray(self) -> bool:
        """Whether closing the window now would only hide it."""
        return self._tray is not None and self._tray.icon.isVisible() and self._keep_running()

    def intercept_close(self) -> bool:
        """Hide the window into the tray and return True, or return False to let it close."""
        if not self.goes_to_tray():
            return False
        self._window.hide()
        self.hidden_to_tray.emit()
        if self._tray is not None and not self._told_once:
            self._told_once = True
            self._tray.notify(
                "Callexa Desktop is still running",
                "Syncing continues in the tray. Use Quit in the tray menu to stop it.",
            )
        return True
