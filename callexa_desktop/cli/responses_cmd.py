"""``responses pull [--json]`` and ``responses import [--json] FILE...``, and the offline
review: ``responses report``, ``list``, ``export FILE`` and ``follow-up ID...``.

Exit 0 when the command did its job, even with rejected responses; 1 with a sentence on
standard error when Callexa could not be reached or a file could not be read at all (the
other files are still imported and reported). The review commands exit 1 with a sentence
for a date that cannot be read, an unknown response id or a file that cannot be written.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import chain
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callexa_desktop.cli.output import print_json, print_json_rows, print_table_streamed
from callexa_desktop.core.clock import as_utc
from callexa_desktop.core.errors import ActionRefused
from callexa_desktop.core.importing import iter_rejections
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.responses import ResponseSummary, import_response_files
from callexa_desktop.core.review import (
    MAX_TREND_PERIODS,
    PERIODS,
    Category,
    FollowUp,
    NpsSummary,
    ReviewFilter,
    ReviewRow,
    TrendPoint,
    export_responses,
    export_responses_to,
    iter_responses,
    local_time_zone,
    nps_summary,
    nps_trend,
    set_follow_up,
)
from callexa_desktop.services.callexa import CallexaClient
from callexa_desktop.services.keychain import Keychain, KeyName
from callexa_desktop.services.responses_pull import pull_responses

# Rejected responses listed in the human-readable summary; --json lists them all.
SHOWN_REJECTIONS = 20


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("responses", help="pull or import survey responses")
    actions = parser.add_subparsers(dest="responses_action", metavar="ACTION", required=True)
    pull = actions.add_parser("pull", help="fetch new responses from Callexa")
    pull.add_argument("--json", action="store_true", help="machine-readable summary")
    pull.set_defaults(run=run_pull)
    load = actions.add_parser(
        "import",
        help="import responses from CSV/JSON export files",
        description=(
            "Import survey responses (email, rating 0-10, comment, answered_at, optional "
            'sent_at) from CSV or JSON exports (array, {"responses": [...]}, NDJSON; '
            "optionally gzip-compressed)."
        ),
    )
    load.add_argument("--json", action="store_true", help="machine-readable summary")
    load.add_argument("files", nargs="+", type=Path, metavar="FILE", help="files to import")
    load.set_defaults(run=run_import)
    _register_review(actions)


def run_pull(args: argparse.Namespace, profile: Profile) -> int:
    key = Keychain(profile.data_dir).require(KeyName.CALLEXA)
    with CallexaClient(profile.settings().callexa_base_url, key) as client:
        summary = pull_responses(profile, client)
    _report(args, profile, summary)
    return 0


def run_import(args: argparse.Namespace, profile: Profile) -> int:
    summary = import_response_files(profile, args.files)
    _report(args, profile, summary)
    for _file, sentence in summary.refused_files:
        print(f"callexa-desktop: {sentence}", file=sys.stderr)
    return 1 if summary.refused_files else 0


def _report(args: argparse.Namespace, profile: Profile, summary: ResponseSummary) -> None:
    with profile.database.session() as session:
        rejections = [
            {"file": r.source, "line": r.line, "reason": r.reason, "detail": r.detail}
            for r in (iter_rejections(session, summary.run_id) if summary.run_id else [])
        ]
    if args.json:
        data = summary.as_dict()
        data.pop("rejections")
        data["rejected_records"] = rejections
        print_json(data)
        return
    print(summary.sentence())
    for rejection in rejections[:SHOWN_REJECTIONS]:
        where = rejection["file"] + (f":{rejection['line']}" if rejection["line"] else "")
        print(f"  rejected {where}: {rejection['reason']} ({rejection['detail']})")
    if len(rejections) > SHOWN_REJECTIONS:
        print(f"  ... and {len(rejections) - SHOWN_REJECTIONS} more (see --json)")


# -- offline review -----------------------------------------------------------------------------

LIST_COLUMNS = ("id", "answered_at", "email", "rating", "category", "follow_up", "comment")
SHOWN_COMMENT = 60  # characters of a comment in the human-readable list; --json has it whole
DATE_HELP = "YYYY-MM-DD (local midnight) or an ISO-8601 time (local time unless it has an offset)"


def _register_review(actions: Any) -> None:
    report = actions.add_parser(
        "report", help="score, counts, distribution and trend of the responses kept here"
    )
    report.add_argument("--json", action="store_true", help="machine-readable report")
    _filter_arguments(report)
    report.add_argument(
        "--period", choices=PERIODS, default="month", help="trend by month or ISO week"
    )
    report.add_argument(
        "--periods", type=int, default=12, metavar="N", help="how many periods (default 12)"
    )
    report.set_defaults(run=run_report)

    listing = actions.add_parser("list", help="list responses, newest first")
    listing.add_argument("--json", action="store_true", help="machine-readable list")
    _filter_arguments(listing)
    listing.set_defaults(run=run_list)

    export = actions.add_parser(
        "export", help="save responses as CSV (UTF-8, ISO-8601 UTC times) for a spreadsheet"
    )
    _filter_arguments(export)
    export.add_argument("file", metavar="FILE", help="the CSV file to write, or - for stdout")
    export.set_defaults(run=run_export)

    follow = actions.add_parser(
        "follow-up", help="mark responses' follow-ups open or done, or clear them"
    )
    follow.add_argument("ids", nargs="+", type=int, metavar="ID", help="response ids (see list)")
    state = follow.add_mutually_exclusive_group(required=True)
    state.add_argument("--open", dest="state", action="store_const", const=FollowUp.OPEN)
    state.add_argument("--done", dest="state", action="store_const", const=FollowUp.DONE)
    state.add_argument("--clear", dest="state", action="store_const", const="clear")
    follow.add_argument("--note", default=None, help="the note to keep (what was done, by whom)")
    follow.set_defaults(run=run_follow_up)


def _filter_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", metavar="DATE", help=f"answered from then on; {DATE_HELP}")
    parser.add_argument("--until", metavar="DATE", help=f"answered before then; {DATE_HELP}")
    parser.add_argument("--category", choices=Category.ALL, help="only this NPS category")
    parser.add_argument("--with-comment", action="store_true", help="only responses with a comment")
    parser.add_argument("--follow-up", choices=FollowUp.ALL, help="only this follow-up state")
    parser.add_argument("--text", help="only where email, name or comment contains this")
    parser.add_argument(
        "--tz", metavar="ZONE", help="time zone for dates and periods, e.g. Europe/Berlin"
    )


def run_report(args: argparse.Namespace, profile: Profile) -> int:
    if not 1 <= args.periods <= MAX_TREND_PERIODS:
        raise ActionRefused(
            f"--periods must be a number from 1 to {MAX_TREND_PERIODS}, not {args.periods}."
        )
    zone = _zone(args.tz)
    flt = _review_filter(args, zone)
    now = profile.clock()
    # A report that ends earlier than now shows the trend up to its end.
    end = now if flt.until is None else min(now, flt.until - timedelta(microseconds=1))
    with profile.database.session() as session:
        summary = nps_summary(session, flt)
        trend = nps_trend(session, flt, tz=zone, period=args.period, now=end, periods=args.periods)
    if args.json:
        data: dict[str, Any] = asdict(summary)
        data["trend"] = [asdict(point) for point in trend]
        data.update(period=args.period, time_zone=str(zone), since=flt.since, until=flt.until)
        print_json(data)
        return 0
    for line in report_lines(summary, trend, period=args.period, zone=zone):
        print(line)
    return 0


def report_lines(
    summary: NpsSummary, trend: list[TrendPoint], *, period: str, zone: tzinfo
) -> list[str]:
    """The human-readable report: score line, distribution, comments and follow-ups, trend."""
    lines = [
        f"NPS {score_text(summary.score)} ({_plural(summary.responses, 'response')}: "
        f"{_plural(summary.promoters, 'promoter')}, {_plural(summary.passives, 'passive')}, "
        f"{_plural(summary.detractors, 'detractor')})",
        "Ratings 0-10: " + "  ".join(f"{r}:{n}" for r, n in enumerate(summary.distribution)),
        f"{summary.with_comment} with a comment, "
        f"{_plural(summary.follow_ups_open, 'follow-up')} open",
    ]
    if trend:
        lines.append(f"Trend by {period} ({zone}):")
        width = max(len(point.label) for point in trend)
        for point in trend:
            lines.append(
                f"  {point.label.ljust(width)}  {score_text(point.score).rjust(4)}  "
                f"{_plural(point.responses, 'response')}"
            )
    return lines


def score_text(score: float | None) -> str:
    """An NPS as people write it: "+32", "-5", "0", or "n/a" with no responses."""
    if score is None:
        return "n/a"
    rounded = round(score)
    return f"{rounded:+d}" if rounded else "0"


def run_list(args: argparse.Namespace, profile: Profile) -> int:
    flt = _review_filter(args, _zone(args.tz))
    with profile.database.session() as session:
        rows = iter_responses(session, flt)
        if args.json:
            print_json_rows(asdict(row) for row in rows)
        else:
            first = next(rows, None)
            if first is None:
                print("No responses match.")
                return 0
            people = (_for_people(row) for row in chain([first], rows))
            print_table_streamed(people, LIST_COLUMNS)
    return 0


def run_export(args: argparse.Namespace, profile: Profile) -> int:
    flt = _review_filter(args, _zone(args.tz))
    if args.file == "-":
        with profile.database.session() as session:
            export_responses(session, flt, sys.stdout)
        return 0
    written = export_responses_to(Path(args.file), profile.database.session, flt)
    print(f"Exported {_plural(written, 'response')} to {args.file}.")
    return 0


def run_follow_up(args: argparse.Namespace, profile: Profile) -> int:
    state = None if args.state == "clear" else args.state
    with profile.database.session() as session:
        changed = set_follow_up(session, args.ids, state, now=profile.clock(), note=args.note)
    asked = len(set(args.ids))
    done = {FollowUp.OPEN: "Marked {} open", FollowUp.DONE: "Marked {} done"}.get(
        state or "", "Cleared the follow-up of {}"
    )
    sentence = done.format(_plural(changed, "response"))
    if changed < asked:
        sentence += f"; {asked - changed} already had it"
    print(sentence + ".")
    return 0


def _review_filter(args: argparse.Namespace, zone: tzinfo) -> ReviewFilter:
    return ReviewFilter(
        since=parse_review_date(args.since, zone) if args.since else None,
        until=parse_review_date(args.until, zone) if args.until else None,
        category=args.category,
        with_comment=args.with_comment,
        follow_up=args.follow_up,
        text=args.text,
    )


def parse_review_date(text: str, zone: tzinfo) -> datetime:
    """YYYY-MM-DD as midnight in ``zone``; an ISO-8601 time with an offset as given, without
    one as ``zone``'s local time. Aware UTC out; ActionRefused with a sentence otherwise."""
    value = text.strip()
    try:
        if len(value) == 10:
            return as_utc(datetime.combine(date.fromisoformat(value), time(), tzinfo=zone))
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ActionRefused(
            f"{text!r} is not a date; write it like 2026-11-01 or 2026-11-01T09:00:00Z."
        ) from None
    return as_utc(moment if moment.tzinfo is not None else moment.replace(tzinfo=zone))


def _zone(name: str | None) -> tzinfo:
    if not name:
        return local_time_zone()
    try:
        return ZoneInfo(name)
    except (ValueError, OSError, ZoneInfoNotFoundError):
        raise ActionRefused(
            f"{name!r} is not a time zone; use a name like Europe/Berlin or UTC."
        ) from None


def _for_people(row: ReviewRow) -> dict[str, Any]:
    fields = {column: getattr(row, column) for column in LIST_COLUMNS}
    comment = " ".join(row.comment.split())
    if len(comment) > SHOWN_COMMENT:
        comment = comment[: SHOWN_COMMENT - 1] + "…"
    fields["comment"] = comment or None
    return fields


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
