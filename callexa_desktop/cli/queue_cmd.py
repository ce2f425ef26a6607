"""``queue [--json] [--status S]`` and the operator's actions on surveys, for scripting.

    queue [--json] [--status S]            list surveys (S: a status, or "due")
    queue cancel|hold|release ID...        act on surveys by id
    queue send-now ID...                   make surveys due now
    queue reschedule ID... --at TIME       move surveys to TIME (ISO-8601; no offset = UTC)
    queue replan [--apply] [--json]        re-decide waiting surveys after a settings change

An action that applies to none of the ids exits 1 with one sentence on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from sqlmodel import Session

from callexa_desktop.cli.output import (
    print_json,
    print_json_rows,
    print_table_streamed,
    to_jsonable,
)
from callexa_desktop.core.clock import as_utc
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.queue import (
    STATUS_FILTERS,
    QueueRow,
    ReplanChange,
    ReplanPlan,
    apply_replan,
    cancel_surveys,
    hold_surveys,
    iter_surveys,
    plan_replan,
    release_surveys,
    reschedule_surveys,
    send_now,
)

# The contract's fields, in order.
JSON_FIELDS = ("id", "email", "user_id", "status", "send_at", "reason")
TABLE_COLUMNS = ("id", "email", "name", "status", "send_at", "reason")
CHANGE_COLUMNS = ("survey_id", "email", "old_send_at", "new_send_at", "new_status", "reason")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "queue",
        help="list surveys, or act on them",
        description=(
            "List surveys (oldest send time first), or cancel, hold, release, reschedule, "
            "send now or re-plan them."
        ),
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--status",
        choices=STATUS_FILTERS,
        metavar="S",
        help=f"only surveys in this state: {', '.join(STATUS_FILTERS)}",
    )
    parser.set_defaults(run=run_list)
    actions = parser.add_subparsers(dest="queue_action", metavar="ACTION")
    for name, help_text in (
        ("cancel", "cancel scheduled or held surveys"),
        ("hold", "hold scheduled surveys until released"),
        ("release", "put held surveys back in the queue"),
        ("send-now", "make scheduled or held surveys due now"),
        ("reschedule", "move scheduled or held surveys to another time"),
    ):
        action = actions.add_parser(name, help=help_text, description=help_text.capitalize() + ".")
        action.add_argument("ids", nargs="+", type=int, metavar="ID", help="survey ids")
        _json_flag(action)
        if name == "reschedule":
            action.add_argument(
                "--at",
                required=True,
                type=_utc_time,
                metavar="TIME",
                help="new send time, ISO-8601 (e.g. 2026-12-01T09:00:00Z; no offset = UTC)",
            )
        action.set_defaults(run=run_action, action_name=name)
    replan = actions.add_parser(
        "replan",
        help="re-decide waiting surveys under the current settings (preview unless --apply)",
        description=(
            "Re-decide every scheduled survey under the current delay rules. Shows what would "
            "change; --apply makes the changes."
        ),
    )
    replan.add_argument("--apply", action="store_true", help="make the changes")
    _json_flag(replan)
    replan.set_defaults(run=run_replan)


def run_list(args: argparse.Namespace, profile: Profile) -> int:
    with profile.database.session() as session:
        rows = iter_surveys(session, status=args.status, now=profile.clock())
        if args.json:
            print_json_rows(_contract(row) for row in rows)
        else:
            shown = print_table_streamed((_for_people(row) for row in rows), TABLE_COLUMNS)
            print(_count_sentence(shown, args.status))
    return 0


def run_action(args: argparse.Namespace, profile: Profile) -> int:
    act: Callable[[Session, list[int]], int] = {
        "cancel": lambda s, ids: cancel_surveys(s, ids, now=profile.clock()),
        "hold": hold_surveys,
        "release": release_surveys,
        "send-now": lambda s, ids: send_now(s, ids, now=profile.clock()),
        "reschedule": lambda s, ids: reschedule_surveys(s, ids, args.at),
    }[args.action_name]
    requested = len(set(args.ids))
    with profile.database.session() as session:
        changed = act(session, args.ids)
    if args.json:
        print_json({"action": args.action_name, "requested": requested, "changed": changed})
    else:
        print(_action_sentence(args.action_name, changed, requested))
    return 0


def run_replan(args: argparse.Namespace, profile: Profile) -> int:
    settings = profile.settings()
    with profile.database.session() as session:
        plan = plan_replan(session, settings, profile.clock())
        applied = apply_replan(session, plan) if args.apply else None
    if args.json:
        write_replan_json(plan, applied, sys.stdout)
        return 0
    print(plan.in_words())
    if plan.changes:
        print_table_streamed((_change_for_people(c) for c in plan.changes), CHANGE_COLUMNS)
        if applied is None:
            print("This was a preview; run `callexa-desktop queue replan --apply` to make it so.")
        else:
            skipped = len(plan.changes) - applied
            note = f" ({skipped} had changed meanwhile and were left alone)" if skipped else ""
            print(f"Applied {applied} change{'' if applied == 1 else 's'}{note}.")
    return 0


def write_replan_json(plan: ReplanPlan, applied: int | None, out: TextIO) -> None:
    """One JSON object; ``changes`` is written one change at a time."""
    head = {
        "summary": plan.in_words(),
        "checked": plan.checked,
        "unchanged": plan.unchanged,
        "kept": plan.kept,
        "unplannable": plan.unplannable,
        "moved": plan.moved,
        "cancelled": sum(plan.cancelled.values()),
        "cancelled_by_outcome": dict(plan.cancelled),
        "applied": applied,
    }
    out.write("{\n")
    for key, value in head.items():
        out.write(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n")
    out.write('  "changes": [')
    for number, change in enumerate(plan.changes):
        out.write(",\n    " if number else "\n    ")
        out.write(json.dumps(to_jsonable(_change_fields(change)), ensure_ascii=False))
    out.write("\n  ]\n}\n" if plan.changes else "]\n}\n")


def _json_flag(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: "queue --json cancel 4" and "queue cancel 4 --json" both count.
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )


def _utc_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date and time; write it like 2026-12-01T09:00:00Z"
        ) from None
    return as_utc(moment)


def _contract(row: QueueRow) -> dict[str, Any]:
    return {field: getattr(row, field) for field in JSON_FIELDS}


def _for_people(row: QueueRow) -> dict[str, Any]:
    return {column: getattr(row, column) for column in TABLE_COLUMNS}


def _change_fields(change: ReplanChange) -> dict[str, Any]:
    return {column: getattr(change, column) for column in CHANGE_COLUMNS}


def _change_for_people(change: ReplanChange) -> dict[str, Any]:
    fields = _change_fields(change)
    if fields["new_send_at"] is None:
        fields["new_send_at"] = "(cancelled)"
    return fields


def _count_sentence(count: int, status: str | None) -> str:
    noun = "survey" if count == 1 else "surveys"
    return f"{count} {noun}" + (f" {status}." if status else ".")


_DONE_WORDS = {
    "cancel": "Cancelled",
    "hold": "Held",
    "release": "Released",
    "send-now": "Made due now:",
    "reschedule": "Rescheduled",
}


def _action_sentence(action: str, changed: int, requested: int) -> str:
    noun = "survey" if requested == 1 else "surveys"
    sentence = f"{_DONE_WORDS[action]} {changed} of {requested} {noun}"
    if changed < requested:
        left = requested - changed
        sentence += f"; {left} could not be changed (see `callexa-desktop queue`)"
    return sentence + "."
