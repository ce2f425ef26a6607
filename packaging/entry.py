"""The script the frozen executable runs: Callexa Desktop's command line.

Without a command the command line opens the window, so one executable is both
the app and the CLI. Two extra duties that only a bundle has:

- a windowed Windows executable starts with no standard streams; writes to them
  must not fail, so they go to the null device;
- ``CALLEXA_DESKTOP_BUNDLE_CHECK=1`` prints a JSON report on what the bundle
  contains (migrations, resources, keyring backends, email validation, Qt) and
  exits, for the smoke test in ``packaging/smoke_test.py``;
- ``CALLEXA_DESKTOP_SMOKE_TEST=1`` runs the command as usual, but once the Qt
  event loop is running and a window is visible it prints the window titles as
  JSON and quits with status 0 (status 3 when no window appears in 30 s). This
  proves the window opens from the bundle without touching the app's code.
"""

from __future__ import annotations

import os
import sys


def _give_missing_streams_a_sink() -> None:
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


SMOKE_TEST_TIMEOUT_MS = 30_000
SMOKE_TEST_POLL_MS = 100


def _quit_once_a_window_shows() -> None:
    """Wrap QApplication.exec so the event loop ends as soon as a top-level window is visible."""
    import json

    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    original_exec = QApplication.exec

    def exec_then_quit(*_args: object) -> int:
        elapsed = QElapsedTimer()
        elapsed.start()
        poll = QTimer()
        poll.setInterval(SMOKE_TEST_POLL_MS)

        def look() -> None:
            titles = [w.windowTitle() for w in QApplication.topLevelWidgets() if w.isVisible()]
            if titles or elapsed.elapsed() > SMOKE_TEST_TIMEOUT_MS:
                poll.stop()
                print(json.dumps({"smoke_test": "window" if titles else "none", "titles": titles}))
                sys.stdout.flush()
                QApplication.exit(0 if titles else 3)

        poll.timeout.connect(look)
        poll.start()
        return original_exec()

    QApplication.exec = exec_then_quit  # type: ignore[method-assign]


def main() -> int:
    _give_missing_streams_a_sink()
    if os.environ.get("CALLEXA_DESKTOP_SMOKE_TEST") == "1":
        _quit_once_a_window_shows()
    if os.environ.get("CALLEXA_DESKTOP_BUNDLE_CHECK") == "1":
        from bundle_check import main as bundle_check

        return bundle_check()
    from callexa_desktop.cli.main import main as command_line

    return command_line()


if __name__ == "__main__":
    sys.exit(main())
