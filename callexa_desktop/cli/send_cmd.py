"""``send [--json] [--dry-run]``: send the due surveys through Callexa."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from callexa_desktop.cli.output import print_json
from callexa_desktop.core.profile import Profile
from callexa_desktop.services.callexa import CallexaClient
from callexa_desktop.services.keychain import Keychain, KeyName
from callexa_desktop.services.sending import SendSummary, send_due


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("send", help="send the due surveys")
    parser.add_argument("--json", action="store_true", help="machine-readable summary")
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would be sent; change nothing"
    )
    parser.set_defaults(run=run_send)


def run_send(args: argparse.Namespace, profile: Profile) -> int:
    if args.dry_run:
        summary = send_due(profile, None, dry_run=True)
    else:
        key = Keychain(profile.data_dir).require(KeyName.CALLEXA)
        settings = profile.settings()
        with CallexaClient(settings.callexa_base_url, key) as client:
            summary = send_due(profile, client, progress=_progress_printer())
    if args.json:
        print_json(summary.as_dict())
    else:
        _print_summary(summary)
    if not summary.ok:
        print(f"callexa-desktop: {summary.stopped}", file=sys.stderr)
        return 1
    return 0


def _print_summary(summary: SendSummary) -> None:
    print(summary.sentence())
    for failure in summary.failures:
        print(f"  survey {failure['survey_id']} ({failure['email']}): {failure['message']}")


def _progress_printer() -> Any:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done == total else ""
        print(f"\rSending {done}/{total}", end=end, file=sys.stderr, flush=True)

    return show
