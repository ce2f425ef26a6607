"""Screenshots for ``docs/operator-guide.md``, taken from the real app.

The script opens the demo profile (``app.demo.open_demo_profile``: sample customers,
a queue and past responses, the local sandbox standing in for Callexa and Segment),
builds the real window around it (``app.launcher.assemble``) and drives it the way an
operator would: Send due (answering the confirmation), hold and cancel a few surveys,
Sync now, read the Responses review (a detractor's answer with a note being written,
then the follow-ups to do, several selected), change the delay rules and look at the
re-plan preview, import a file with some bad lines. Each screen is grabbed with
``QWidget.grab()`` into ``docs/images/``.
A blank profile of its own shows the first-run assistant.

Reproducible: a fixed clock (Monday 30 November 2026, moved on by hand between steps),
the demo's fixed seed, UTC as the local time zone, the Fusion style and a fixed window
size. What may differ between runs: the import rate ("records/s") in the progress shot,
and the name of the demo's temporary folder in a customer's identify history.

Run (offscreen; fonts come from the system's fontconfig):

    .venv/bin/python docs/make_screenshots.py            # writes docs/images/*.png
    QT_QPA_PLATFORM=xcb xvfb-run -a .venv/bin/python docs/make_screenshots.py  # under Xvfb

Nothing touches the operator's own profile or keychain: the demo keeps its made-up keys
in memory and lives in a temporary folder that is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# UTC as the local time zone (time.tzset() in main applies it), offscreen unless told otherwise.
os.environ["TZ"] = "UTC"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QPoint, Qt, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QMessageBox,
    QStyleFactory,
    QWidget,
)

from callexa_desktop import APP_NAME
from callexa_desktop.app import asking, import_flow
from callexa_desktop.app.context import AppContext
from callexa_desktop.app.customers_view import CustomersModel
from callexa_desktop.app.demo import Demo, InMemoryKeyring, open_demo_profile
from callexa_desktop.app.first_run import FirstRunWizard
from callexa_desktop.app.launcher import Desktop, _app_icon, assemble
from callexa_desktop.app.paged_model import ROW_ROLE
from callexa_desktop.app.queue_model import QueueModel
from callexa_desktop.app.tray import Tray
from callexa_desktop.core.customers import CustomerRow, list_customers
from callexa_desktop.core.importing import ImportProgress
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.queue import QueueRow
from callexa_desktop.core.settings import load_settings, save_settings
from callexa_desktop.services.keychain import Keychain, KeyName, use_backend_for

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WINDOW_SIZE = (1100, 700)
SANDBOX_PORT = 48765  # fixed so the sandbox addresses in the shots stay the same
DEMO_BUDGET = 18  # smaller than the demo's 21 due surveys: shows a budget hold
TIMEOUT_S = 60.0
EXPORT_RECORDS = 40_000  # enough for several progress reports while it is read


class ManualClock:
    """The profile's and the sandbox's clock: it moves only when the script moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# -- waiting for the app ----------------------------------------------------------------


def pump(ms: int = 50) -> None:
    """Let Qt deliver events for ``ms`` milliseconds."""
    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.005)


def wait_until(condition: Callable[[], Any], what: str, timeout: float = TIMEOUT_S) -> None:
    """Process events until ``condition()`` holds; SystemExit naming ``what`` otherwise."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise SystemExit(f"Timed out waiting for {what}.")
        pump(20)


def settle(context: AppContext, quiet_ms: int = 600) -> None:
    """Wait until no background job has run for ``quiet_ms`` (views loaded, status read)."""
    end = time.monotonic() + TIMEOUT_S
    quiet_since = time.monotonic()
    while time.monotonic() < end:
        pump(20)
        if context.active_tasks():
            quiet_since = time.monotonic()
        elif (time.monotonic() - quiet_since) * 1000 >= quiet_ms:
            return
    raise SystemExit("Timed out waiting for the window's background jobs.")


def visible_message_box() -> QMessageBox | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox) and widget.isVisible():
            return widget
    return None


def answer_next_question(shots: Shots, name: str | None, button_text: str) -> None:
    """When the next question box shows (its ``exec()`` blocks the caller), grab it as
    ``name`` and press the button labelled ``button_text``."""

    def look() -> None:
        box = visible_message_box()
        if box is None:
            QTimer.singleShot(30, look)
            return
        pump(150)
        if name is not None:
            shots.save(box, name)
        button = next(b for b in box.buttons() if b.text().replace("&", "") == button_text)
        button.click()

    QTimer.singleShot(30, look)


# -- saving shots -------------------------------------------------------------------------


class Shots:
    """Grabs widgets into ``folder`` as PNG and remembers what was written."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written: list[Path] = []

    def save(self, widget: QWidget, name: str) -> Path:
        pump(100)
        pixmap = widget.grab()
        if pixmap.isNull() or pixmap.width() < 10:
            raise SystemExit(f"Nothing to grab for {name}.")
        # A 256-colour palette without dithering: the same look for flat UI, a third the size.
        image = pixmap.toImage().convertToFormat(
            QImage.Format.Format_Indexed8,
            Qt.ImageConversionFlag.ThresholdDither | Qt.ImageConversionFlag.AvoidDither,
        )
        path = self.folder / f"{name}.png"
        # Quality 0 = the strongest compression. (PySide wants the format as str; its stubs
        # say bytes.)
        if not image.save(str(path), "PNG", 0):  # type: ignore[call-overload]
            raise SystemExit(f"Could not write {path}.")
        self.written.append(path)
        print(f"{path.name}: {image.width()}x{image.height()}, {path.stat().st_size // 1024} KB")
        return path


# -- the steps ----------------------------------------------------------------------------


def shoot_first_run(shots: Shots, clock: ManualClock, demo: Demo, export: Path) -> None:
    """The assistant on a blank profile (the demo never shows it)."""
    profile = Profile.open(export.parent / "first-run-profile", clock=clock)
    use_backend_for(profile.data_dir, InMemoryKeyring())
    try:
        # Pointed at the local sandbox so "Test connection" has something to answer.
        with profile.database.session() as session:
            settings = replace(
                load_settings(session),
                callexa_base_url=demo.sandbox.callexa_base_url,
                segment_endpoint=demo.sandbox.segment_endpoint,
            )
            save_settings(session, settings)
        context = AppContext(profile)
        wizard = FirstRunWizard(context, Keychain(profile.data_dir))
        wizard.show()
        settle(context)
        shots.save(wizard, "first-run-1-welcome")

        wizard.next()
        panel = wizard.keys_page.panels[KeyName.CALLEXA]
        panel.field.setText("cx_live_" + "7" * 24)
        panel.test_connection()
        wait_until(lambda: panel.result_label.text().startswith("✔"), "the key test")
        settle(context)
        shots.save(wizard, "first-run-2-keys")

        wizard.next()
        rules = wizard.rules_page
        rules.min_delay.setValue(3)
        rules.max_delay.setValue(14)
        shots.save(wizard, "first-run-3-rules")

        wizard.next()

        # The file dialog is the platform's own; the page gets what it would return.
        def chosen_in_the_file_dialog(parent: QWidget | None) -> list[Path]:
            return [export]

        real_ask = asking.ask_import_files
        asking.ask_import_files = chosen_in_the_file_dialog
        try:
            wizard.import_page.choose_button.click()
        finally:
            asking.ask_import_files = real_ask
        shots.save(wizard, "first-run-4-import")
        wizard.hide()
        wizard.deleteLater()
        context.shutdown()
    finally:
        use_backend_for(profile.data_dir, None)
        profile.close()


def open_window(demo: Demo) -> Desktop:
    with demo.profile.database.session() as session:
        save_settings(session, replace(load_settings(session), monthly_budget=DEMO_BUDGET))
    desktop = assemble(demo.profile, demo.keychain, demo=demo, with_tray=False)
    desktop.window.resize(*WINDOW_SIZE)
    desktop.window.show()
    settle(desktop.context)
    return desktop


def shoot_send_due(shots: Shots, desktop: Desktop, demo: Demo) -> None:
    """Send due: the question with the budget impact, then the real send on the sandbox."""
    # Two addresses the sandbox refuses, so the queue shows failed surveys too.
    refused = {row.email for row in queue_rows(desktop) if row.email.startswith("ben.")}
    refused |= {row.email for row in queue_rows(desktop) if row.email.startswith("umar.")}
    demo.sandbox.callexa.refuse_recipients(lambda email: email in refused)
    window = desktop.window
    finished: list[object] = []
    window.sends.finished.connect(finished.append)
    answer_next_question(shots, "send-due-confirm", "Send surveys")
    window.send_due()
    wait_until(lambda: finished, "the send run")
    settle(desktop.context)


def queue_rows(desktop: Desktop) -> Iterator[QueueRow]:
    model = desktop.window.queue_view.model
    for row in range(model.rowCount()):
        found = model.row_at(row)
        if found is not None:
            yield found


def act_on_queue(shots: Shots, desktop: Desktop, clock: ManualClock) -> None:
    """Hold two surveys and cancel one, as an operator would, from the selection."""
    view = desktop.window.queue_view
    waiting = [
        number
        for number, row in enumerate(queue_rows(desktop))
        if row.status == "scheduled" and row.send_at > clock()
    ]
    select_rows(view.table, waiting[0:2])
    task = view.hold_selected()
    wait_until(lambda: task is not None and task.done, "holding surveys")
    settle(desktop.context)
    select_rows(view.table, [waiting[3]])
    answer_next_question(shots, None, "Cancel surveys")
    task = view.cancel_selected()
    wait_until(lambda: task is not None and task.done, "cancelling a survey")
    settle(desktop.context)


def select_rows(table: Any, rows: list[int]) -> None:
    table.clearSelection()
    selection = table.selectionModel()
    model = table.model()
    chosen = QItemSelection()
    for row in rows:
        chosen.select(model.index(row, 0), model.index(row, model.columnCount() - 1))
    selection.select(chosen, QItemSelectionModel.SelectionFlag.ClearAndSelect)


def shoot_queue(shots: Shots, desktop: Desktop) -> None:
    window = desktop.window
    window.tabs.setCurrentWidget(window.queue_view)
    settle(desktop.context)
    view = window.queue_view
    # Start a few rows into the list so sent, failed, held, due and waiting surveys all show.
    top = view.model.index(8, QueueModel.EMAIL)
    view.table.scrollTo(top, QAbstractItemView.ScrollHint.PositionAtTop)
    view.table.clearSelection()
    settle(desktop.context)
    shots.save(window, "main-queue")
    shots.save(window.statusBar(), "status-bar")


def shoot_customers(shots: Shots, desktop: Desktop) -> None:
    window = desktop.window
    view = window.customers_view
    window.tabs.setCurrentWidget(view)
    settle(desktop.context)
    model = view.model
    wanted = None
    for row in range(model.rowCount()):
        customer = model.data(model.index(row, CustomersModel.EMAIL), ROW_ROLE)
        # Surveyed today and answered since: identify history, a survey and a response.
        if (
            isinstance(customer, CustomerRow)
            and customer.nps_rating is not None
            and customer.last_surveyed_at is not None
            and customer.last_surveyed_at >= START
        ):
            wanted = row
            if 5 <= customer.nps_rating <= 8:  # a passive or a detractor: a comment worth reading
                break
    if wanted is None:
        raise SystemExit("No demo customer surveyed today with a rating was found.")
    view.splitter.setSizes([260, 340])
    view.table.selectRow(wanted)
    view.table.scrollTo(model.index(wanted, 0), QAbstractItemView.ScrollHint.PositionAtCenter)
    wait_until(lambda: view.shown_customer_id is not None, "the customer's details")
    settle(desktop.context)
    shots.save(window, "main-customers")


def run_sync(desktop: Desktop) -> None:
    results: list[object] = []
    desktop.sync.sync_finished.connect(results.append)
    desktop.sync.sync_failed.connect(results.append)
    desktop.sync_now()
    wait_until(lambda: results, "the sync")
    settle(desktop.context)


def shoot_responses(shots: Shots, desktop: Desktop) -> None:
    """The review: score, charts, a detractor's comment with a note being written; then
    the follow-ups still to do, several selected at once."""
    window = desktop.window
    view = window.responses_view
    window.tabs.setCurrentWidget(view)
    view.splitter.setSizes([170, 400])
    settle(desktop.context)
    model = view.model
    # The newest detractor who left a comment: what an operator reads first.
    wanted = next(
        (
            number
            for number in range(model.rowCount())
            if (row := model.row_at(number)) is not None and row.follow_up == "open" and row.comment
        ),
        None,
    )
    if wanted is None:
        raise SystemExit("No demo response with an open follow-up and a comment was found.")
    view.table.selectRow(wanted)
    wait_until(lambda: len(view.detail.rows) == 1, "the response's details")
    view.detail.note.setFocus()
    view.detail.note.insertPlainText("Called on Monday: a replacement is on its way.")
    settle(desktop.context)
    shots.save(window, "main-responses")

    view.show_open_follow_ups()
    wait_until(lambda: not model.busy, "the follow-ups to do")
    settle(desktop.context)
    select_rows(view.table, [0, 1, 2])
    wait_until(lambda: len(view.detail.rows) == 3, "the selected responses")
    settle(desktop.context)
    shots.save(window, "responses-follow-ups")


def shoot_settings_and_replan(shots: Shots, desktop: Desktop) -> None:
    window = desktop.window
    dialog = window.open_settings()
    settle(desktop.context)
    shots.save(dialog, "settings")
    dialog.min_delay.setValue(20)
    shots.save(dialog, "settings-refused")
    # A change the rules allow: wait 5 days instead of 3, then accept the re-plan offer.
    dialog.min_delay.setValue(5)
    answer_next_question(shots, "replan-question", "Show the re-plan")
    dialog.accept()
    wait_until(
        lambda: window.replans.dialog is not None and window.replans.dialog.isVisible(),
        "the re-plan preview",
    )
    settle(desktop.context)
    replan = window.replans.dialog
    assert replan is not None
    shots.save(replan, "replan-preview")
    replan.accept()
    settle(desktop.context)


def shoot_keys(shots: Shots, desktop: Desktop) -> None:
    dialog = desktop.open_keys()
    settle(desktop.context)
    panel = dialog.panels[KeyName.SEGMENT]
    panel.field.setText("wk_" + "4" * 28)
    panel.test_connection()
    wait_until(lambda: panel.result_label.text().startswith("✔"), "the write key test")
    settle(desktop.context)
    shots.save(dialog, "keys")
    dialog.close()


def write_export(path: Path, now: datetime, demo_emails: list[str]) -> None:
    """A realistic identify export: new sign-ups, old customers, repeats and 4 bad lines."""
    bad = {
        1200: '{"type": "identify", "userId": "u-bad-1", "traits": {"email": "mia at example"}}',
        4711: '{"type": "identify", "userId": "u-bad-2", "traits": {"email": "leo@example.com",'
        ' "createdAt": "last tuesday"}}',
        19000: '{"type": "identify", "traits": {"email": "ola@example.com"',
        31500: '{"type": "track", "event": "Order Completed", "userId": "u-bad-4"}',
    }
    with path.open("w", encoding="utf-8") as out:
        for number in range(EXPORT_RECORDS):
            if number in bad:
                out.write(bad[number] + "\n")
                continue
            email = f"customer{number:05d}@example.com"
            if number % 400 == 7 and demo_emails:
                # A customer already in the demo, identified again.
                email = demo_emails[number % len(demo_emails)]
                created = now - timedelta(days=2)
                identified = now - timedelta(minutes=number % 300)
            elif number % 5 == 0:
                # A long-standing customer who logged in again this week.
                created = now - timedelta(days=300 + number % 400)
                identified = now - timedelta(days=number % 6, minutes=number % 600)
            else:
                # A sign-up of this week, identified shortly after signing up.
                created = now - timedelta(days=number % 7, minutes=number % 600)
                identified = min(now, created + timedelta(minutes=30 + number % 90))
            message = {
                "type": "identify",
                "messageId": f"export-{number:06d}",
                "userId": f"u-{number:06d}",
                "timestamp": identified.isoformat().replace("+00:00", "Z"),
                "traits": {
                    "email": email,
                    "firstName": "Sam",
                    "lastName": f"Example {number}",
                    "createdAt": created.isoformat().replace("+00:00", "Z"),
                },
            }
            out.write(json.dumps(message) + "\n")
            if number % 1000 == 999:
                # The same record sent twice by the source: a duplicate.
                out.write(json.dumps(message) + "\n")


def shoot_import(shots: Shots, desktop: Desktop, export: Path) -> None:
    """The import progress (held half-way so it can be grabbed) and the summary."""
    window = desktop.window

    reached, resume = threading.Event(), threading.Event()
    real_import = import_flow.import_files

    def import_held_half_way(*args: Any, **kwargs: Any) -> Any:
        report = kwargs["progress"]

        def progress(value: ImportProgress) -> None:
            report(value)
            # Half-way through the file, once some records are counted.
            half = 0 < value.bytes_total <= 2 * value.bytes_done < 2 * value.bytes_total
            if half and value.records_read and value.phase == "reading" and not reached.is_set():
                reached.set()
                resume.wait(TIMEOUT_S)

        kwargs["progress"] = progress
        return real_import(*args, **kwargs)

    import_flow.import_files = import_held_half_way
    try:
        window.import_files([export])
        wait_until(reached.is_set, "half of the import")
        pump(300)
        dialog = window.imports.progress_dialog
        assert dialog is not None
        shots.save(dialog, "import-progress")
        resume.set()
        wait_until(
            lambda: (
                window.imports.summary_dialog is not None
                and window.imports.summary_dialog.isVisible()
            ),
            "the import summary",
        )
    finally:
        resume.set()
        import_flow.import_files = real_import
    settle(desktop.context)
    summary = window.imports.summary_dialog
    assert summary is not None
    summary.resize(760, 560)
    settle(desktop.context)
    shots.save(summary, "import-summary")
    summary.close()


def shoot_activity(shots: Shots, desktop: Desktop) -> None:
    window = desktop.window
    view = window.activity_view
    window.tabs.setCurrentWidget(view)
    settle(desktop.context)
    view.splitter.setSizes([250, 370])
    for row in range(view.model.rowCount()):
        run = view.model.run_at(row)
        if run is not None and run.kind == "sync":
            view.table.selectRow(row)
            break
    settle(desktop.context)
    shots.save(window, "main-activity")


def shoot_tray_menu(shots: Shots, desktop: Desktop) -> None:
    """The tray's own menu, shown on its own (the offscreen platform has no tray)."""
    tray = Tray(_app_icon(), title=desktop.window.windowTitle())
    tray.menu.popup(QPoint(200, 200))
    pump(200)
    shots.save(tray.menu, "tray-menu")
    tray.menu.hide()


def shoot_sync_refused(shots: Shots, desktop: Desktop, demo: Demo) -> None:
    """What a refused Segment write key looks like (the sandbox made to expect another key)."""
    demo.sandbox.segment.write_key = "a-different-write-key"
    run_sync(desktop)
    wait_until(lambda: desktop.window.last_error_box is not None, "the sync error")
    box = desktop.window.last_error_box
    assert box is not None
    wait_until(box.isVisible, "the sync error box")
    shots.save(box, "error-segment-refused")
    box.close()
    demo.sandbox.segment.write_key = None


# -- the whole tour -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "images", help="folder"
    )
    args = parser.parse_args(argv)
    time.tzset()
    args.out.mkdir(parents=True, exist_ok=True)

    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setStyle(QStyleFactory.create("Fusion"))
    app.setWindowIcon(_app_icon())
    app.setQuitOnLastWindowClosed(False)

    shots = Shots(args.out)
    clock = ManualClock(START)
    # A fixed folder, so file names in the shots are the same on every run.
    scratch = Path(tempfile.gettempdir()) / "callexa-screenshots"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    demo = open_demo_profile(clock=clock, port=SANDBOX_PORT)
    desktop: Desktop | None = None
    try:
        export = scratch / "identify-export-november.ndjson"
        with demo.profile.database.session() as session:
            demo_emails = [customer.email for customer in list_customers(session)]
        write_export(export, clock(), demo_emails)
        shoot_first_run(shots, clock, demo, export)
        desktop = open_window(demo)
        shoot_send_due(shots, desktop, demo)
        clock.advance(hours=6)  # the afternoon: more surveys have become due
        desktop.window.refresh_all()
        settle(desktop.context)
        act_on_queue(shots, desktop, clock)
        shoot_queue(shots, desktop)
        clock.advance(hours=2)
        shoot_sync_refused(shots, desktop, demo)
        clock.advance(minutes=3)
        run_sync(desktop)
        shoot_customers(shots, desktop)
        shoot_responses(shots, desktop)
        shoot_settings_and_replan(shots, desktop)
        shoot_keys(shots, desktop)
        clock.advance(minutes=20)
        shoot_import(shots, desktop, export)
        shoot_activity(shots, desktop)
        shoot_tray_menu(shots, desktop)
    finally:
        if desktop is not None:
            desktop.close()
        else:
            demo.close()
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{len(shots.written)} screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
