"""Importing from the window: progress, a summary with counts and rejected rows, the queue fills."""

from __future__ import annotations

import codecs
import csv
import json
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from callexa_desktop.app import asking
from callexa_desktop.app.context import AppContext
from callexa_desktop.app.import_flow import ImportController, ImportProgressFormatter
from callexa_desktop.app.import_summary import ImportSummaryDialog
from callexa_desktop.app.queue_view import QueueView
from callexa_desktop.app.rejections import RejectionsModel
from callexa_desktop.core.importing import ImportProgress, ImportSummary


def _identify(number: int) -> str:
    return json.dumps(
        {
            "type": "identify",
            "messageId": f"m-{number}",
            "userId": f"user-{number}",
            "timestamp": "2026-11-29T10:00:00Z",
            "traits": {"email": f"customer{number}@example.com", "name": f"Customer {number}"},
        }
    )


def _write_export(folder: Path, good: int) -> Path:
    lines = [_identify(n) for n in range(good)]
    lines.insert(2, "{this is not json")
    lines.append(json.dumps({"type": "identify", "traits": {"email": "not-an-address"}}))
    path = folder / "export.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run_import(qtbot: QtBot, controller: ImportController, path: Path) -> ImportSummary:
    with qtbot.waitSignal(controller.finished, timeout=20_000) as done:
        controller.start([path])
    summary = done.args[0]
    assert isinstance(summary, ImportSummary)
    return summary


def test_import_shows_a_summary_with_counts_and_rejected_rows(
    qtbot: QtBot, context: AppContext, tmp_path: Path
) -> None:
    window = QueueView(context)
    qtbot.addWidget(window)
    controller = ImportController(context, window)
    summary = _run_import(qtbot, controller, _write_export(tmp_path, good=5))

    dialog = controller.summary_dialog
    assert isinstance(dialog, ImportSummaryDialog)
    heading = dialog.heading.text()
    assert "7 records read, 5 accepted, 0 duplicates, 2 rejected" in heading
    assert "5 × survey scheduled" in heading
    model: RejectionsModel = dialog.table.rejections
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    rows = [
        [model.data(model.index(row, column)) for column in range(model.columnCount())]
        for row in range(2)
    ]
    assert [row[0] for row in rows] == [str(tmp_path / "export.ndjson")] * 2
    assert rows[0][1] == "3"
    assert rows[0][2] == "malformed_json"
    assert rows[1][1] == "7"
    assert rows[1][2] == "invalid_email"
    assert summary.rejected == 2


def test_the_queue_fills_after_an_import(qtbot: QtBot, context: AppContext, tmp_path: Path) -> None:
    view = QueueView(context)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.model.loaded):
        view.model.refresh()
    assert view.model.rowCount() == 0

    controller = ImportController(context, view)
    with qtbot.waitSignal(view.model.loaded, timeout=20_000):
        _run_import(qtbot, controller, _write_export(tmp_path, good=5))

    assert view.model.rowCount() == 5
    assert view.count_label.text() == "5 surveys"


def test_rejected_records_can_be_saved_as_csv(
    qtbot: QtBot, context: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = QueueView(context)
    qtbot.addWidget(window)
    controller = ImportController(context, window)
    _run_import(qtbot, controller, _write_export(tmp_path, good=3))
    target = tmp_path / "rejected.csv"
    monkeypatch.setattr(asking, "ask_save_csv", lambda *_a: target)

    dialog = controller.summary_dialog
    assert dialog is not None
    task = dialog.save_csv()
    assert task is not None
    with qtbot.waitSignal(task.finished):
        pass

    assert target.read_bytes().startswith(codecs.BOM_UTF8)  # spreadsheets read it as UTF-8
    with target.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["file", "line", "reason", "detail"]
    assert [(row[1], row[2]) for row in rows[1:]] == [
        ("3", "malformed_json"),
        ("5", "invalid_email"),
    ]
    assert dialog.saved_label.text() == f"Saved 2 records to {target}."


def test_a_file_that_cannot_be_read_is_named_in_the_summary(
    qtbot: QtBot, context: AppContext, tmp_path: Path
) -> None:
    window = QueueView(context)
    qtbot.addWidget(window)
    controller = ImportController(context, window)
    missing = tmp_path / "missing.ndjson"
    summary = _run_import(qtbot, controller, missing)

    assert summary.refused_files
    assert controller.summary_dialog is not None
    assert "missing.ndjson" in controller.summary_dialog.heading.text()


def test_cancel_stops_the_import_and_the_summary_says_so(
    qtbot: QtBot, context: AppContext, tmp_path: Path
) -> None:
    window = QueueView(context)
    qtbot.addWidget(window)
    controller = ImportController(context, window)
    path = tmp_path / "big.ndjson"
    path.write_text("\n".join(_identify(n) for n in range(60_000)) + "\n", encoding="utf-8")
    cancelled_on_first_report: list[bool] = []

    def cancel_once(_progress: object) -> None:
        if not cancelled_on_first_report and controller.progress_dialog is not None:
            controller.progress_dialog.cancel()
            cancelled_on_first_report.append(True)

    with qtbot.waitSignal(controller.finished, timeout=60_000) as done:
        task = controller.start([path])
        assert task is not None
        task.progress.connect(cancel_once)

    summary = done.args[0]
    assert cancelled_on_first_report == [True]
    assert summary.cancelled
    assert summary.accepted < 60_000
    assert controller.summary_dialog is not None
    assert "The import was stopped" in controller.summary_dialog.heading.text()


def _reading(*, files_total: int = 2, records_read: int = 1200) -> ImportProgress:
    return ImportProgress(
        files_done=0,
        files_total=files_total,
        bytes_done=512 * 1024,
        bytes_total=2 * 1024 * 1024,
        records_read=records_read,
        phase="reading",
    )


def test_progress_line_shows_bytes_first_then_records_per_second() -> None:
    view = ImportProgressFormatter()(_reading())

    assert (view.done, view.total) == (512 * 1024, 2 * 1024 * 1024)
    assert view.detail.startswith("File 1 of 2 · 512.0 KB of 2.0 MB · 1,200 records (")
    assert view.detail.endswith("/s)")


def test_progress_line_has_no_record_count_before_records_are_counted() -> None:
    view = ImportProgressFormatter()(_reading(files_total=1, records_read=0))

    assert view.detail == "512.0 KB of 2.0 MB"
