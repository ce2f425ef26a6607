"""The Qt binding itself must not corrupt the interpreter.

PySide6 6.12.0 on Python 3.11 loses a reference to None on every call of a Qt method
that returns nothing; a long-running window then dies with "deallocating None".
pyproject.toml keeps that version out; this catches it (or a similar release) coming back.
"""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QObject, QTimer


def _none_references() -> int:
    gc.collect()
    return sys.getrefcount(None)


def test_qt_calls_that_return_nothing_keep_none_alive(qapp: object) -> None:
    thing = QObject()
    timer = QTimer()
    before = _none_references()
    for number in range(2000):
        thing.setObjectName(f"thing {number}")
        timer.stop()
    lost = before - _none_references()

    # A few references come and go with the interpreter's own bookkeeping; 4000 would be the bug.
    assert lost < 100
