"""Every view can be made and dropped, and the process then exits cleanly.

A child widget that Qt deletes with its parent while Python also thinks it owns it
makes the interpreter crash at exit ("shared QObject was deleted directly"), so
this runs in a separate process and looks at how it ended.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.app.offscreen_script import run_offscreen

SCRIPT = textwrap.dedent(
    """
    import gc, sys
    from pathlib import Path
    from PySide6.QtWidgets import QApplication
    from callexa_desktop.app.activity_view import ActivityView
    from callexa_desktop.app.context import AppContext
    from callexa_desktop.app.customers_view import CustomersView
    from callexa_desktop.app.main_window import MainWindow
    from callexa_desktop.app.queue_view import QueueView
    from callexa_desktop.app.responses_view import ResponsesView
    from callexa_desktop.app.settings_dialog import SettingsDialog
    from callexa_desktop.core.profile import Profile

    app = QApplication([])
    profile = Profile.open(Path(sys.argv[1]))
    context = AppContext(profile)
    for make in (QueueView, CustomersView, ResponsesView, ActivityView):
        view = make(context)
        del view
        gc.collect()
    dialog = SettingsDialog(profile.settings())
    del dialog
    gc.collect()
    window = MainWindow(context)
    window.show()
    while window.queue_view.model.busy or window.status_panel.facts is None:
        app.processEvents()
    window.close()
    del window
    gc.collect()
    context.shutdown()
    app.processEvents()
    profile.close()
    print("closed")
    """
)


def test_the_process_exits_cleanly_after_every_view_was_dropped(tmp_path: Path) -> None:
    done = run_offscreen(SCRIPT, str(tmp_path / "profile"))

    assert done.stdout.strip() == "closed"
    assert "deleted directly" not in done.stderr
    assert done.returncode == 0, done.stderr
