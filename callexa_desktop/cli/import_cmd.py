"""``import [--json] FILE...``: bring identify records in and say what happened.

Exit 0 when the import did its job, even with rejected records; 1 (with one
sentence per file on standard error) when a file could not be read at all --
the other files are still imported and reported.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from callexa_desktop.cli.output import to_jsonable
from callexa_desktop.core.decision import Outcome
from callexa_desktop.core.importing import (
    ImportProgress,
    ImportSummary,
    import_files,
    iter_rejections,
)
from callexa_desktop.core.profile import Profile

# Rejected records listed in the human-readable summary; --json lists them all.
SHOWN_REJECTIONS = 20

OUTCOME_WORDS = {
    Outcome.SCHEDULED: "scheduled",
    Outcome.ALREADY_QUEUED: "already queued",
    Outcome.SKIPPED_TOO_OLD: "skipped (too old)",
    Outcome.SKIPPED_INTERVAL: "skipped (surveyed recently)",
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "import",
        help="import identify records from files",
        description=(
            "Import Segment identify records (JSON, JSON array, batch envelope, NDJSON, "
            "each optionally gzip-compressed, or CSV) and schedule surveys."
        ),
    )
    parser.add_argument("--json", action="store_true", help="machine-readable summary")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="files to import")
    parser.set_defaults(run=run_import)


def run_import(args: argparse.Namespace, profile: Profile) -> int:
    printer = _progress_printer(args.json)
    summary = import_files(profile, args.files, progress=printer)
    if printer is not None:
        print(file=sys.stderr)
    with profile.database.session() as session:
        rejections = (
            {"file": r.source, "line": r.line, "reason": r.reason, "detail": r.detail}
            for r in iter_rejections(session, summary.run_id)
        )
        if args.json:
            write_json_summary(summary, rejections, sys.stdout)
        else:
            write_human_summary(summary, rejections, sys.stdout)
    for _file, sentence in summary.refused_files:
        print(f"callexa-desktop: {sentence}", file=sys.stderr)
    return 1 if summary.refused_files else 0


def write_json_summary(
    summary: ImportSummary, rejections: Iterable[dict[str, Any]], out: TextIO
) -> None:
    """One JSON object; ``rejected_records`` is written one record at a time."""
    out.write("{\n")
    for key, value in summary.as_dict().items():
        out.write(f"  {json.dumps(key)}: {json.dumps(to_jsonable(value), ensure_ascii=False)},\n")
    out.write('  "rejected_records": [')
    first = True
    for rejection in rejections:
        out.write("\n    " if first else ",\n    ")
        json.dump(rejection, out, ensure_ascii=False)
        first = False
    out.write("]\n}\n" if first else "\n  ]\n}\n")


def write_human_summary(
    summary: ImportSummary, rejections: Iterable[dict[str, Any]], out: TextIO
) -> None:
    """Counts, decisions, notices and the first rejected records, for a person."""
    files = len(summary.files) - len(summary.refused_files)
    out.write(
        f"Read {summary.read} records from {files} file{'s' if files != 1 else ''}: "
        f"{summary.accepted} new, {summary.duplicates} duplicates, "
        f"{summary.rejected} rejected.\n"
    )
    decided = ", ".join(
        f"{summary.decisions.get(outcome, 0)} {words}" for outcome, words in OUTCOME_WORDS.items()
    )
    out.write(f"Decisions: {decided}.\n")
    if summary.cancelled:
        out.write("The import was cancelled.\n")
    for notice in summary.notices:
        out.write(f"Note: {notice}\n")
    if not summary.rejected:
        return
    if summary.rejected > SHOWN_REJECTIONS:
        out.write(f"Rejected records (first {SHOWN_REJECTIONS} of {summary.rejected}):\n")
    else:
        out.write("Rejected records:\n")
    for count, rejection in enumerate(rejections):
        if count == SHOWN_REJECTIONS:
            break
        where = (
            rejection["file"]
            if rejection["line"] is None
            else (f"{rejection['file']}:{rejection['line']}")
        )
        detail = f" ({rejection['detail']})" if rejection["detail"] else ""
        out.write(f"  {where} {rejection['reason']}{detail}\n")
    if summary.rejected > SHOWN_REJECTIONS:
        out.write("Use --json to list every rejected record.\n")


def _progress_printer(quiet: bool) -> Callable[[ImportProgress], None] | None:
    if quiet or not sys.stderr.isatty():
        return None

    def show(progress: ImportProgress) -> None:
        if progress.phase == "deciding":
            text = f"Deciding {progress.records_decided}/{progress.records_to_decide} records"
        else:
            share = progress.bytes_done * 100 // progress.bytes_total if progress.bytes_total else 0
            text = f"Reading {progress.records_read} records ({share}%)"
        print(f"\r{text}\033[K", end="", file=sys.stderr, flush=True)

    return show
