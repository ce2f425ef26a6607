"""``settings show [--json]`` and ``settings set KEY VALUE``."""

from __future__ import annotations

import argparse
from typing import Any

from callexa_desktop.cli.output import print_json, print_table
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.settings import SPECS, set_setting, settings_as_dict


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("settings", help="show or change settings")
    actions = parser.add_subparsers(dest="settings_action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="list every setting with its value")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(run=run_show)
    change = actions.add_parser("set", help="change one setting (validated before saving)")
    change.add_argument("key", choices=sorted(SPECS), metavar="KEY")
    change.add_argument("value", metavar="VALUE")
    change.set_defaults(run=run_set)


def run_show(args: argparse.Namespace, profile: Profile) -> int:
    values = settings_as_dict(profile.settings())
    if args.json:
        print_json(values)
    else:
        rows = [{"setting": k, "value": v, "meaning": SPECS[k].help} for k, v in values.items()]
        print_table(rows, ["setting", "value", "meaning"])
    return 0


def run_set(args: argparse.Namespace, profile: Profile) -> int:
    with profile.database.session() as session:
        updated = set_setting(session, args.key, args.value)
    print(f"{args.key} = {settings_as_dict(updated)[args.key]}")
    return 0
