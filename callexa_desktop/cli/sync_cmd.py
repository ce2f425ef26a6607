"""``sync [--json] [--dry-run]``: push every customer's latest rating to Segment.

Exit 0 when the sync did its job (messages Segment refused are reported, not a failure);
1 with a sentence on standard error when it stopped early (a refused write key, Segment
unreachable): what was not acknowledged waits for the next sync.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from callexa_desktop.cli.output import print_json
from callexa_desktop.core.profile import Profile
from callexa_desktop.services.keychain import Keychain, KeyName
from callexa_desktop.services.syncing import SyncSummary, sync_ratings

# Customers without ids listed in the human-readable summary; --json lists them all.
SHOWN_CUSTOMERS = 20


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("sync", help="push the latest ratings to Segment")
    parser.add_argument("--json", action="store_true", help="machine-readable summary")
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would be sent; change nothing"
    )
    parser.set_defaults(run=run_sync)


def run_sync(args: argparse.Namespace, profile: Profile) -> int:
    if args.dry_run:
        summary = sync_ratings(profile, "", dry_run=True)
    else:
        key = Keychain(profile.data_dir).require(KeyName.SEGMENT)
        summary = sync_ratings(profile, key, progress=_progress_printer(args.json))
    if args.json:
        print_json(summary.as_dict())
    else:
        _print_summary(summary)
    if not summary.ok:
        print(f"callexa-desktop: {summary.stopped}", file=sys.stderr)
        return 1
    return 0


def _print_summary(summary: SyncSummary) -> None:
    print(summary.sentence())
    for rejected in summary.rejected:
        print(f"  refused for {rejected['email']}: {rejected['reason']}")
    if summary.not_syncable:
        print("  not syncable (no userId or anonymousId yet):")
        for email in summary.not_syncable[:SHOWN_CUSTOMERS]:
            print(f"    {email}")
        extra = len(summary.not_syncable) - SHOWN_CUSTOMERS
        if extra > 0:
            print(f"    ... and {extra} more (see --json)")


def _progress_printer(quiet: bool) -> Any:
    if quiet or not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done == total else ""
        print(f"\rSyncing {done}/{total}", end=end, file=sys.stderr, flush=True)

    return show
