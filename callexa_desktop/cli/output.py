"""Printing for the command line: JSON for scripts, aligned columns for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import islice
from typing import Any, TextIO

from callexa_desktop.core.clock import iso_utc


def to_jsonable(value: Any) -> Any:
    """Datetimes become ISO-8601 UTC text; containers are converted recursively."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def print_json(value: Any, out: TextIO | None = None) -> None:
    stream = out or sys.stdout
    json.dump(to_jsonable(value), stream, ensure_ascii=False, indent=2)
    stream.write("\n")


def print_json_rows(rows: Iterable[Mapping[str, Any]], out: TextIO | None = None) -> None:
    """A JSON array written one object at a time, so a million rows need no list in memory."""
    stream = out or sys.stdout
    stream.write("[")
    first = True
    for row in rows:
        stream.write("\n  " if first else ",\n  ")
        # dumps + one write: json.dump writes each token separately, ~2x slower here.
        stream.write(json.dumps(to_jsonable(row), ensure_ascii=False))
        first = False
    stream.write("\n]\n" if not first else "]\n")


def print_table(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], out: TextIO | None = None
) -> None:
    """Plain aligned columns; times shown as ISO-8601 UTC like in JSON."""
    stream = out or sys.stdout
    table = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in table)]) for i, c in enumerate(columns)]
    stream.write("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    stream.write("\n")
    for r in table:
        stream.write("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
        stream.write("\n")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return iso_utc(value) or ""
    return str(value)


def print_table_streamed(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    out: TextIO | None = None,
    *,
    sample: int = 500,
) -> int:
    """Like ``print_table`` for lists too long to hold: column widths come from the first
    ``sample`` rows (a longer cell later just pushes its line out). Returns the row count."""
    stream = out or sys.stdout
    iterator = iter(rows)
    head = [[_cell(row.get(c)) for c in columns] for row in islice(iterator, sample)]
    widths = [max([len(c), *(len(r[i]) for r in head)]) for i, c in enumerate(columns)]

    def write(cells: Sequence[str]) -> None:
        stream.write("  ".join(v.ljust(w) for v, w in zip(cells, widths, strict=True)).rstrip())
        stream.write("\n")

    write(columns)
    for cells in head:
        write(cells)
    count = len(head)
    for row in iterator:
        write([_cell(row.get(c)) for c in columns])
        count += 1
    return count
