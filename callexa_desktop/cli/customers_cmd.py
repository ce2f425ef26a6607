"""``customers [--json]``: every customer with their ids, last decision and latest rating."""

from __future__ import annotations

import argparse
from typing import Any

from callexa_desktop.cli.output import print_json_rows, print_table_streamed
from callexa_desktop.core.customers import CustomerRow, iter_customers
from callexa_desktop.core.profile import Profile

# The contract's fields, in order.
JSON_FIELDS = (
    "email",
    "user_id",
    "anonymous_id",
    "created_at",
    "last_identified_at",
    "last_decision",
    "last_surveyed_at",
    "nps_rating",
    "nps_date",
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "customers",
        help="list customers",
        description="List every customer (by email) with their last decision and latest rating.",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run_customers)


def run_customers(args: argparse.Namespace, profile: Profile) -> int:
    with profile.database.session() as session:
        rows = (_contract(row) for row in iter_customers(session))
        if args.json:
            print_json_rows(rows)
        else:
            shown = print_table_streamed(rows, JSON_FIELDS)
            print(f"{shown} customer{'' if shown == 1 else 's'}.")
    return 0


def _contract(row: CustomerRow) -> dict[str, Any]:
    return {field: getattr(row, field) for field in JSON_FIELDS}
