"""The main window: Queue, Customers, Responses and Activity tabs, menus, toolbar, status bar.

The window only shows and asks; each action is a controller running the same core
function as the command line in a worker. Other parts of the app (keys, sync, tray)
plug in through ``add_action``, ``add_status_widget`` and ``set_close_interceptor``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QMainWindow,
    QMenu,
    QMessageBox,
    QTabWidget,
    QToolBar,
    QWidget,
)

from callexa_desktop import __version__
from callexa_desktop.app import asking
from callexa_desktop.app.activity_view import ActivityView
from callexa_desktop.app.context import AppContext, Topic
from callexa_desktop.app.customers_view import CustomersView
from callexa_desktop.app.error_dialog import show_error
from callexa_desktop.app.import_flow import ImportController
from callexa_desktop.app.import_summary import RejectionsDialog
from callexa_desktop.app.key_problems import for_the_window
from callexa_desktop.app.not_syncable import NotSyncableDialog
from callexa_desktop.app.poll_timer import PollTimer
from callexa_desktop.app.queue_view import QueueView
from callexa_desktop.app.replan_flow import ReplanController
from callexa_desktop.app.responses_view import ResponsesView
from callexa_desktop.app.send_flow import SendController
from callexa_desktop.app.settings_dialog import SettingsDialog
from callexa_desktop.app.status_panel import StatusMessage, StatusPanel
from callexa_desktop.app.workers import Task, TaskError, WorkerControl
from callexa_desktop.core.settings import Settings, save_settings

log = logging.getLogger(__name__)

APP_TITLE = "Callexa Desktop"
STATE_GROUP = "window"

# Menus in the order they appear; add_action creates others after these.
MENU_FILE = "File"
MENU_QUEUE = "Queue"
MENU_TOOLS = "Tools"
MENU_HELP = "Help"


class MainWindow(QMainWindow):
    """The operator's window over one profile (``context.profile``)."""

    # Emitted when the window really closes (not when it hides into the tray).
    closed = Signal()
    # Emitted by File > Quit: the application should end (the launcher connects it).
    quit_requested = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.context = context
        self._quitting = False
        self._close_interceptor: Callable[[], bool] | None = None
        self._keys_opener: Callable[[], object] | None = None
        self._menus: dict[str, QMenu] = {}
        self.last_error_box: QMessageBox | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.rejections_dialog: RejectionsDialog | None = None
        self.not_syncable_dialog: NotSyncableDialog | None = None
        context.report_error = self.show_error

        self.setWindowTitle(APP_TITLE + (" — DEMO" if context.profile.demo else ""))
        self.resize(1100, 700)
        self.setAcceptDrops(True)

        self.queue_view = QueueView(context)
        self.customers_view = CustomersView(context)
        self.responses_view = ResponsesView(context)
        self.activity_view = ActivityView(context)
        self.tabs = QTabWidget(objectName="mainTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.queue_view, "Queue")
        self.tabs.addTab(self.customers_view, "Customers")
        self.tabs.addTab(self.responses_view, "Responses")
        self.tabs.addTab(self.activity_view, "Activity")
        self.setCentralWidget(self.tabs)

        self.status_message = StatusMessage()
        self.statusBar().addWidget(self.status_message, 1)
        self.status_panel = StatusPanel(context, self.statusBar())
        self.imports = ImportController(context, self)
        self.sends = SendController(context, self)
        self.replans = ReplanController(context, self)
        self.poll_timer = PollTimer(context, self)

        self.toolbar = QToolBar("Main toolbar", objectName="mainToolbar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(self.toolbar)
        for name in (MENU_FILE, MENU_QUEUE, MENU_TOOLS, MENU_HELP):
            self.menu(name)
        self._make_actions()

        self.queue_view.message.connect(self.show_message)
        self.responses_view.message.connect(lambda text: self.show_message(text, 15_000))
        self.sends.message.connect(
            lambda headline, story: self.show_message(headline, 15_000, details=story)
        )
        self.replans.applied.connect(
            lambda changed: self.show_message(f"Re-plan applied: {changed:,} surveys changed.")
        )
        self.activity_view.rejections_requested.connect(self.show_rejections)
        self.activity_view.not_syncable_requested.connect(self.show_not_syncable)
        self.poll_timer.checked.connect(lambda summary: self.show_message(summary.message()))
        self.poll_timer.failed.connect(lambda error: self.show_message(error.sentence))
        self.restore_state()
        self.refresh_all()
        self.poll_timer.apply_settings(context.settings())

    # hooks for the rest of the app ---------------------------------------------------

    def menu(self, name: str) -> QMenu:
        """The menu called ``name`` ("File", "Queue", "Tools", "Help", or a new one)."""
        if name not in self._menus:
            menu = QMenu(name, self)
            menu.setObjectName(f"menu{name.replace(' ', '')}")
            help_menu = self._menus.get(MENU_HELP)
            if help_menu is not None:
                self.menuBar().insertMenu(help_menu.menuAction(), menu)
            else:
                self.menuBar().addMenu(menu)
            self._menus[name] = menu
        return self._menus[name]

    def add_action(self, menu: str, action: QAction, *, toolbar: bool = False) -> None:
        """Put ``action`` at the end of ``menu`` (created if new) and, if asked, the toolbar.

        E.g. ``add_action("Tools", keys_action, toolbar=True)``. The window keeps the action
        alive (it is re-parented to the window if it has no parent).
        """
        if action.parent() is None:
            action.setParent(self)
        self.menu(menu).addAction(action)
        if toolbar:
            self.toolbar.addAction(action)

    def add_status_widget(self, widget: QWidget, *, permanent: bool = True) -> None:
        """Show ``widget`` in the status bar (right side when ``permanent``)."""
        if permanent:
            self.statusBar().addPermanentWidget(widget)
        else:
            self.statusBar().addWidget(widget)

    def set_close_interceptor(self, interceptor: Callable[[], bool] | None) -> None:
        """When the operator closes the window, ``interceptor()`` runs first; if it returns
        True (e.g. it hid the window into the tray) the window stays alive, hidden."""
        self._close_interceptor = interceptor

    def set_keys_opener(self, opener: Callable[[], object] | None) -> None:
        """What an error box about a key offers to open (the Keys… dialog)."""
        self._keys_opener = opener

    def show_message(self, text: str, timeout_ms: int = 8000, *, details: str = "") -> None:
        """A short sentence in the status bar ("3 surveys held."); ``details`` and a text too
        long for the room left by the facts are shown whole in its tooltip."""
        self.status_message.show_message(text, timeout_ms, details=details)

    def show_error(self, error: TaskError) -> QMessageBox:
        """Show ``error`` as one sentence with a Details expander (never a traceback).

        A missing or refused key points at the Keys… dialog (with a button to open it)
        instead of the command line; the original sentence goes into the details.
        """
        self.last_error_box = show_error(
            self if self.isVisible() else None,
            for_the_window(error),
            open_keys=self._keys_opener,
        )
        return self.last_error_box

    def bring_to_front(self) -> None:
        """Show, un-minimise and raise the window (a second launch, the tray's Open)."""
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()

    def refresh_all(self) -> None:
        """Reload every view and the status bar (at start; after big outside changes)."""
        self.context.hub.notify(*Topic.ALL)
        self.status_panel.refresh()

    # actions -----------------------------------------------------------------------

    def import_files(self, paths: list[Path] | None = None) -> Task | None:
        """Import ``paths`` (asking for files when None) with progress and a summary."""
        chosen = paths if paths is not None else asking.ask_import_files(self)
        return self.imports.start(chosen) if chosen else None

    def send_due(self) -> Task | None:
        """Count the due surveys, confirm with the budget impact, then send them."""
        return self.sends.start()

    def replan(self) -> Task:
        """Preview a re-plan of the waiting surveys; apply it if the operator agrees."""
        return self.replans.start()

    def open_settings(self) -> SettingsDialog:
        """Open the settings dialog (non-blocking); saving happens in a worker on OK."""
        dialog = SettingsDialog(self.context.settings(), self)
        dialog.accepted.connect(lambda: self._save_settings(dialog))
        dialog.open()
        self.settings_dialog = dialog
        return dialog

    def show_rejections(self, run_id: int) -> RejectionsDialog:
        """The rejected records of an import run, with "Save as CSV…"."""
        run = self.activity_view.model.run_by_id(run_id)
        total = int(run.summary.get("rejected", 0)) if run is not None else 0
        dialog = RejectionsDialog(self.context, run_id, total, parent=self)
        dialog.open()
        self.rejections_dialog = dialog
        return dialog

    def show_not_syncable(self) -> NotSyncableDialog:
        """The customers whose rating cannot be synced yet (no userId or anonymousId)."""
        dialog = NotSyncableDialog(self.context, parent=self)
        dialog.open()
        self.not_syncable_dialog = dialog
        return dialog

    def quit(self) -> None:
        """Close for good (no tray), then ask the application to end."""
        self._quitting = True
        self.close()
        self.quit_requested.emit()

    # window state --------------------------------------------------------------------

    def save_state(self) -> None:
        """Geometry, toolbar/dock layout, current tab and each view's columns and filters."""
        settings = self.context.window_settings
        settings.beginGroup(STATE_GROUP)
        settings.setValue("geometry", self.saveGeometry())
        settings.setValue("state", self.saveState())
        settings.setValue("tab", self.tabs.currentIndex())
        settings.endGroup()
        self.queue_view.save_state(settings)
        self.customers_view.save_state(settings)
        self.responses_view.save_state(settings)
        settings.beginGroup("activity")
        settings.setValue("splitter", self.activity_view.splitter.saveState())
        settings.setValue("header", self.activity_view.table.horizontalHeader().saveState())
        settings.endGroup()
        settings.sync()

    def restore_state(self) -> None:
        settings = self.context.window_settings
        settings.beginGroup(STATE_GROUP)
        geometry = settings.value("geometry")
        state = settings.value("state")
        tab = settings.value("tab")
        settings.endGroup()
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)
        try:
            self.tabs.setCurrentIndex(int(tab) if tab is not None else 0)
        except (TypeError, ValueError):
            self.tabs.setCurrentIndex(0)
        self.queue_view.restore_state(settings)
        self.customers_view.restore_state(settings)
        self.responses_view.restore_state(settings)
        settings.beginGroup("activity")
        splitter = settings.value("splitter")
        header = settings.value("header")
        settings.endGroup()
        if isinstance(splitter, QByteArray):
            self.activity_view.splitter.restoreState(splitter)
        if isinstance(header, QByteArray):
            self.activity_view.table.horizontalHeader().restoreState(header)

    # Qt events -------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        intercept = self._close_interceptor
        if not self._quitting and intercept is not None and intercept():
            event.ignore()
            return
        self.poll_timer.stop()
        self.status_panel.stop()
        event.accept()
        self.closed.emit()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _local_files(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _local_files(event.mimeData().urls())
        if paths:
            event.acceptProposedAction()
            self.import_files(paths)

    # internals ----------------------------------------------------------------------

    def _make_actions(self) -> None:
        self.import_action = self._action(
            "&Import…",
            "Import identify records from files",
            self.import_files,
            QKeySequence.StandardKey.Open,
        )
        self.settings_action = self._action(
            "&Settings…",
            "Delay rules, budget, services and sources",
            self.open_settings,
            QKeySequence.StandardKey.Preferences,
        )
        self.quit_action = self._action(
            "&Quit", "Quit Callexa Desktop", self.quit, QKeySequence.StandardKey.Quit
        )
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.send_due_action = self._action(
            "Send &due…", "Send every survey that is due now", self.send_due
        )
        self.replan_action = self._action(
            "&Re-plan…", "Recompute waiting surveys with the current rules", self.replan
        )
        self.poll_action = self._action(
            "Check sources &now", "Check the watched folder and feed now", self.poll_timer.poll_now
        )
        self.about_action = self._action("&About Callexa Desktop", "", self._about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)

        file_menu = self.menu(MENU_FILE)
        file_menu.addAction(self.import_action)
        file_menu.addAction(self.poll_action)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        queue_menu = self.menu(MENU_QUEUE)
        queue_menu.addAction(self.send_due_action)
        queue_menu.addAction(self.replan_action)
        self.menu(MENU_HELP).addAction(self.about_action)
        for action in (
            self.import_action,
            self.send_due_action,
            self.replan_action,
            self.settings_action,
        ):
            self.toolbar.addAction(action)
        self.toolbar.addSeparator()
        self.queue_view.add_queue_action(self.send_due_action)
        self.queue_view.add_queue_action(self.replan_action)

    def _action(
        self,
        text: str,
        tip: str,
        slot: Callable[[], object],
        shortcut: QKeySequence.StandardKey | None = None,
    ) -> QAction:
        action = QAction(text, self)
        action.setStatusTip(tip)
        action.setToolTip(tip or text.replace("&", ""))
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _save_settings(self, dialog: SettingsDialog) -> None:
        chosen = dialog.chosen_settings()
        if chosen is None:
            return
        rules_changed = dialog.rules_changed()
        profile = self.context.profile

        def job(_control: WorkerControl) -> Settings:
            with profile.database.session() as session:
                save_settings(session, chosen)
            return chosen

        def saved(settings: Settings) -> None:
            self.context.hub.notify(Topic.SETTINGS)
            self.show_message("Settings saved.")
            if rules_changed and asking.confirm(
                self,
                "Re-plan the queue?",
                "The delay rules changed. Surveys already waiting were planned with the old "
                "rules; re-plan them now? You will see what changes before anything is applied.",
                yes="Show the re-plan",
            ):
                self.replan()

        self.context.run(job, description="saving the settings", on_result=saved)

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About Callexa Desktop",
            f"Callexa Desktop {__version__}\n\nNet Promoter Score surveys for Segment "
            f"identify records.\n\nProfile folder: {self.context.data_dir}",
        )


def _local_files(urls: list[QUrl]) -> list[Path]:
    return [Path(url.toLocalFile()) for url in urls if url.isLocalFile() and url.toLocalFile()]
