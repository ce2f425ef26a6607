"""Starting the window: one instance per profile, the demo or the real profile, and the
parts that plug into the main window (keys, sync, tray, first-run assistant).

``run_window`` is what ``callexa-desktop gui`` calls. ``assemble`` builds everything
around a ``MainWindow`` for a given profile and keychain; tests use it directly.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressBar

from callexa_desktop import APP_NAME
from callexa_desktop.app.collector import MainThreadCollector
from callexa_desktop.app.context import AppContext
from callexa_desktop.app.demo import Demo, open_demo_profile
from callexa_desktop.app.first_run import FirstRunWizard, first_run_needed
from callexa_desktop.app.keys_dialog import KeysDialog
from callexa_desktop.app.main_window import MainWindow
from callexa_desktop.app.single_instance import SingleInstance
from callexa_desktop.app.sync_controller import TICK_MS, SyncController, SyncResult
from callexa_desktop.app.tray import Tray, TrayClosePolicy, tray_is_available
from callexa_desktop.app.workers import TaskError
from callexa_desktop.core.errors import CallexaError
from callexa_desktop.core.logs import setup_logging
from callexa_desktop.core.profile import Profile
from callexa_desktop.services.keychain import Keychain

log = logging.getLogger(__name__)

TOOLS_MENU = "Tools"


@dataclass
class Desktop:
    """Everything running for one open profile; ``close()`` stops it in order."""

    context: AppContext
    window: MainWindow
    keychain: Keychain
    sync: SyncController
    tray: Tray | None
    close_policy: TrayClosePolicy
    keys_action: QAction
    sync_action: QAction
    sync_progress: QProgressBar
    demo: Demo | None = None
    keys_dialog: KeysDialog | None = None
    first_run: FirstRunWizard | None = None

    def open_keys(self) -> KeysDialog:
        """The keys dialog over the window (non-blocking)."""
        dialog = KeysDialog(self.context, self.keychain, parent=self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.keys_dialog = dialog
        return dialog

    def sync_now(self) -> bool:
        """The Sync button: in the demo, sandbox customers answer first so there is news."""
        if self.demo is not None and not self.sync.syncing:
            self.demo.simulate_replies()
        return self.sync.sync_now()

    def offer_first_run(self) -> FirstRunWizard | None:
        """Open the first-run assistant when this profile was never set up."""
        if not first_run_needed(self.context.profile, self.keychain):
            return None
        wizard = FirstRunWizard(self.context, self.keychain, parent=self.window)
        wizard.accepted.connect(lambda: self._import_chosen(wizard))
        wizard.open()
        self.first_run = wizard
        return wizard

    def close(self) -> None:
        """Close the window for good, stop timers and jobs, close the profile (delete a demo)."""
        # The window saves its state while closing: that must happen before a demo is deleted.
        self.window.set_close_interceptor(None)
        self.window.close()
        self.sync.stop()
        if self.tray is not None:
            self.tray.hide()
        if not self.context.shutdown():
            log.warning("Some background jobs did not stop in time")
        if self.demo is not None:
            self.demo.close()
        else:
            self.context.profile.close()

    def _import_chosen(self, wizard: FirstRunWizard) -> None:
        files = wizard.chosen_files()
        if files:
            self.window.import_files(files)


def assemble(
    profile: Profile,
    keychain: Keychain,
    *,
    demo: Demo | None = None,
    with_tray: bool | None = None,
    sync_tick_ms: int | None = None,
) -> Desktop:
    """The main window for ``profile`` with keys, sync, tray and close behaviour wired in.

    ``with_tray`` None asks the desktop whether a system tray exists.
    """
    context = AppContext(profile)
    window = MainWindow(context)  # its title and status bar say DEMO for a demo profile
    sync = SyncController(context, keychain, tick_ms=sync_tick_ms or TICK_MS, parent=window)

    keys_action = QAction("&Keys…", window)
    keys_action.setObjectName("keysAction")
    keys_action.setStatusTip("The Callexa API key and the Segment write key")
    sync_action = QAction("S&ync now", window)
    sync_action.setObjectName("syncAction")
    sync_action.setStatusTip("Fetch new responses and push the latest ratings to Segment")
    sync_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
    window.add_action(TOOLS_MENU, sync_action, toolbar=True)
    window.add_action(TOOLS_MENU, keys_action, toolbar=True)

    progress = QProgressBar()
    progress.setObjectName("syncProgress")
    progress.setMaximumWidth(160)
    progress.setFormat("Syncing %v/%m")
    progress.setVisible(False)
    window.add_status_widget(progress, permanent=False)

    tray: Tray | None = None
    if with_tray if with_tray is not None else tray_is_available():
        tray = Tray(_app_icon(), title=window.windowTitle(), parent=window)
        tray.show()
    policy = TrayClosePolicy(
        window, tray=tray, keep_running=lambda: context.settings().close_to_tray
    )
    window.set_close_interceptor(policy.intercept_close)

    desktop = Desktop(
        context=context,
        window=window,
        keychain=keychain,
        sync=sync,
        tray=tray,
        close_policy=policy,
        keys_action=keys_action,
        sync_action=sync_action,
        sync_progress=progress,
        demo=demo,
    )
    keys_action.triggered.connect(lambda _checked=False: desktop.open_keys())
    window.set_keys_opener(desktop.open_keys)
    sync_action.triggered.connect(lambda _checked=False: desktop.sync_now())
    _connect_sync(desktop)
    if tray is not None:
        tray.open_requested.connect(window.bring_to_front)
        tray.sync_requested.connect(desktop.sync_now)
        tray.send_requested.connect(lambda: _send_from_tray(window))
        tray.quit_requested.connect(window.quit)
    if demo is not None:
        # Customers in the sandbox answer some of what was just sent.
        window.sends.finished.connect(lambda summary: demo.simulate_replies() if summary else 0)
    return desktop


def run_window(data_dir: Path, *, demo: bool, argv: Sequence[str] | None = None) -> int:
    """Open the window for the profile in ``data_dir`` (or a demo) and run until quit.

    Returns the exit status. A second launch for the same folder brings the first
    window forward and returns 0 at once.
    """
    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setWindowIcon(_app_icon())
    # The main window decides when the app ends (it may live on in the tray).
    app.setQuitOnLastWindowClosed(False)

    instance: SingleInstance | None = None
    opened_demo: Demo | None = None
    try:
        if demo:
            opened_demo = open_demo_profile()
            setup_logging(opened_demo.folder)
            profile, keychain = opened_demo.profile, opened_demo.keychain
        else:
            instance = SingleInstance(data_dir)
            if not instance.claim():
                print(
                    f"{APP_NAME} is already open for {data_dir}; its window was brought "
                    "to the front.",
                    file=sys.stderr,
                )
                return 0
            data_dir.mkdir(parents=True, exist_ok=True)
            setup_logging(data_dir)
            profile = Profile.open(data_dir)
            keychain = Keychain(profile.data_dir)
    except CallexaError as error:
        if opened_demo is not None:
            opened_demo.close()
        _show_startup_problem(str(error))
        raise

    desktop = assemble(profile, keychain, demo=opened_demo)
    if instance is not None:
        instance.raise_requested.connect(desktop.window.bring_to_front)
    desktop.window.closed.connect(app.quit)
    desktop.window.quit_requested.connect(app.quit)
    desktop.window.show()
    desktop.sync.start()
    desktop.offer_first_run()
    # Qt objects caught in reference cycles must die on the GUI thread, not a worker's.
    collector = MainThreadCollector(parent=app)
    collector.start()
    try:
        with _quit_on_termination_signals(app):
            return int(app.exec())
    finally:
        desktop.close()
        collector.stop()
        if instance is not None:
            instance.release()


def _connect_sync(desktop: Desktop) -> None:
    sync, window, progress = desktop.sync, desktop.window, desktop.sync_progress

    def busy() -> None:
        desktop.sync_action.setEnabled(not sync.syncing)
        progress.setVisible(sync.syncing)
        if desktop.tray is not None:
            desktop.tray.set_busy(syncing=sync.syncing, sending=sync.sending)

    def started() -> None:
        progress.setRange(0, 0)  # busy until the first count arrives
        window.show_message("Syncing…", 0)

    def advanced(done: int, total: int) -> None:
        progress.setRange(0, max(total, 1))
        progress.setValue(done)

    def notify(title: str, sentence: str, problem: bool) -> None:
        if desktop.tray is not None:
            desktop.tray.notify(title, sentence, problem=problem)

    def say(headline: str, story: str) -> None:
        window.show_message(headline, 15_000, details=story)

    def failed(error: TaskError) -> None:
        # Asked for with the button: say it in the window; the automatic run only notifies.
        if window.isVisible():
            window.show_error(error)

    def finished(result: SyncResult) -> None:
        if not result.ok and window.isVisible() and not result.automatic:
            window.show_error(TaskError(result.sync.stopped or result.sync.sentence()))

    sync.busy_changed.connect(busy)
    sync.sync_started.connect(started)
    sync.sync_progress.connect(advanced)
    sync.notification.connect(notify)
    sync.status_message.connect(say)
    sync.sync_failed.connect(failed)
    sync.sync_finished.connect(finished)


@contextmanager
def _quit_on_termination_signals(app: QApplication) -> Iterator[None]:
    """Ctrl-C or a polite kill ends the app through its normal exit (a demo is deleted)."""
    previous = {}
    for name in ("SIGINT", "SIGTERM"):
        number = getattr(signal, name, None)
        if number is not None:
            previous[number] = signal.signal(number, lambda _number, _frame: app.quit())
    # Python runs signal handlers only between bytecodes; a light timer gives it the chance.
    wake = QTimer()
    wake.setInterval(300)
    wake.timeout.connect(lambda: None)
    wake.start()
    try:
        yield
    finally:
        wake.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)


def _send_from_tray(window: MainWindow) -> None:
    # Sending asks for confirmation (count and budget impact) in the window.
    window.bring_to_front()
    window.send_due()


def _app_icon() -> QIcon:
    icon = QIcon()
    try:
        from callexa_desktop.resources import app_icon_paths

        for path in app_icon_paths():
            icon.addFile(str(path))
    except CallexaError as error:  # a broken installation still opens, without an icon
        log.warning("%s", error)
    return icon


def _show_startup_problem(sentence: str) -> None:
    # Started from a desktop launcher there is no terminal to read the sentence in.
    if QApplication.platformName() not in ("offscreen", "minimal"):
        QMessageBox.critical(None, APP_NAME, sentence)
