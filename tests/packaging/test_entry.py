"""The frozen executable's entry script: streams for windowed Windows builds, and the
smoke-test mode that ends the event loop once the window is up."""

from __future__ import annotations

import json
import sys

import pytest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from tests.packaging.conftest import load_packaging_module

entry = load_packaging_module("entry")


def test_missing_standard_streams_get_a_sink_so_printing_never_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)

    entry._give_missing_streams_a_sink()

    # Code that writes to the streams directly (not through print) would fail on None.
    assert sys.stdout.write("callexa-desktop 0.1.0\n") > 0
    assert sys.stderr.write("a sentence\n") > 0
    sys.stdout.close()
    sys.stderr.close()


def test_smoke_test_mode_quits_with_status_0_and_names_the_visible_window(
    qapp: QApplication,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(QApplication, "exec", QApplication.exec)  # put back after the test
    entry._quit_once_a_window_shows()
    window = QWidget()
    window.setWindowTitle("Callexa Desktop — DEMO")
    qtbot.addWidget(window)
    window.show()

    status = qapp.exec()

    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert status == 0
    assert report["smoke_test"] == "window"
    assert "Callexa Desktop — DEMO" in report["titles"]


def test_smoke_test_mode_gives_up_with_status_3_when_no_window_appears(
    qapp: QApplication,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    monkeypatch.setattr(QApplication, "exec", QApplication.exec)
    monkeypatch.setattr(entry, "SMOKE_TEST_TIMEOUT_MS", 300)
    entry._quit_once_a_window_shows()

    status = qapp.exec()

    assert status == 3
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {
        "smoke_test": "none",
        "titles": [],
    }
