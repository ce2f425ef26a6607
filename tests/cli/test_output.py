"""Printing helpers of the command line."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from callexa_desktop.cli.output import print_table_streamed


def test_a_streamed_table_sizes_columns_from_its_first_rows() -> None:
    rows = [
        {"email": "a@example.com", "send_at": datetime(2026, 1, 2, tzinfo=UTC)},
        {"email": "b@example.com", "send_at": None},
        {"email": "a-much-longer-address@example.com", "send_at": None},
    ]
    out = io.StringIO()

    assert print_table_streamed(iter(rows), ["email", "send_at"], out, sample=2) == 3

    assert out.getvalue().splitlines() == [
        "email          send_at",
        "a@example.com  2026-01-02T00:00:00Z",
        "b@example.com  -",
        # Past the sample a longer cell pushes its line out instead of re-aligning everything.
        "a-much-longer-address@example.com  -",
    ]


def test_a_reader_that_stops_early_is_not_reported_as_a_failure(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from callexa_desktop.cli.main import main\n"
        f"sys.exit(main(['--data-dir', {str(tmp_path)!r}, 'settings', 'show']))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    process.stdout.close()  # like `| head` going away before the first line
    _, errors = process.communicate(timeout=60)
    assert b"went wrong" not in errors
    assert process.returncode == 0
