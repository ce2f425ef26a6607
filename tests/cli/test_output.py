"""Printing helpers of the command line."""

from __future__ import annotations

import io
from datetime import UTC, datetime

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
