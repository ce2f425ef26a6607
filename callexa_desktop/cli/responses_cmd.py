"""``responses pull [--json]`` and ``responses import [--json] FILE...``.

Exit 0 when the command did its job, even with rejected responses; 1 with a sentence on
standard error when Callexa could not be reached or a file could not be read at all (the
other files are still imported and reported).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from callexa_desktop.cli.output import print_json
from callexa_desktop.core.importing import iter_rejections
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.responses import ResponseSummary, import_response_files
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
