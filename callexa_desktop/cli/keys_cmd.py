"""``keys set|status|delete``: the Callexa API key and Segment write key in the keychain.

The secret is read from standard input (a hidden prompt on a terminal), never from the
command line, and never printed.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from callexa_desktop.cli.output import print_json, print_table
from callexa_desktop.core.errors import CallexaError
from callexa_desktop.core.profile import Profile
from callexa_desktop.services.keychain import ENV_VARS, LABELS, Keychain, KeyName, KeySource

# A key is short; refuse to slurp a file that was piped in by mistake.
MAX_SECRET_CHARS = 4096


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("keys", help="store, check or delete the two keys")
    actions = parser.add_subparsers(dest="keys_action", metavar="ACTION", required=True)
    store = actions.add_parser(
        "set", help="store a key, read from standard input (a hidden prompt on a terminal)"
    )
    store.add_argument("name", choices=KeyName.ALL, metavar="callexa|segment")
    store.set_defaults(run=run_set)
    status = actions.add_parser("status", help="whether each key is set and where from")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(run=run_status)
    delete = actions.add_parser("delete", help="remove a key of this profile from the keychain")
    delete.add_argument("name", choices=KeyName.ALL, metavar="callexa|segment")
    delete.set_defaults(run=run_delete)


def run_set(args: argparse.Namespace, profile: Profile) -> int:
    keychain = Keychain(profile.data_dir)
    label = LABELS[args.name]
    keychain.require_usable()  # say so before asking for the secret, not after
    secret = read_secret(label)
    keychain.set(args.name, secret)
    print(f"The {label} is stored in {keychain.backend_description()} for this profile.")
    if ENV_VARS[args.name] in _environment_names():
        print(
            f"Note: the keychain's key is used; {ENV_VARS[args.name]} is ignored while it is set."
        )
    return 0


def run_status(args: argparse.Namespace, profile: Profile) -> int:
    keychain = Keychain(profile.data_dir)
    statuses = keychain.status()
    if args.json:
        print_json(
            {
                "keychain": keychain.backend_description(),
                "keychain_usable": keychain.is_usable(),
                "keys": [
                    {"name": s.name, "set": s.is_set, "source": s.source, "problem": s.problem}
                    for s in statuses
                ],
            }
        )
        return 0
    print(f"Keychain: {keychain.backend_description()}")
    rows = [
        {"key": s.label, "set": "yes" if s.is_set else "no", "from": _source_words(s.source)}
        for s in statuses
    ]
    print_table(rows, ["key", "set", "from"])
    for problem in sorted({s.problem for s in statuses if s.problem}):
        print(f"Note: {problem}")
    return 0


def run_delete(args: argparse.Namespace, profile: Profile) -> int:
    keychain = Keychain(profile.data_dir)
    label = LABELS[args.name]
    if keychain.delete(args.name):
        print(f"The {label} was deleted from the keychain for this profile.")
    else:
        print(f"No {label} was stored in the keychain for this profile; nothing to delete.")
    if ENV_VARS[args.name] in _environment_names():
        print(f"Note: {ENV_VARS[args.name]} still provides one; unset it to stop using it.")
    return 0


def read_secret(label: str) -> str:
    """The secret from a hidden prompt on a terminal, else from standard input."""
    stream = sys.stdin
    if stream is None:
        raise CallexaError(f"No {label} was given: standard input is closed.")
    if stream.isatty():
        return getpass.getpass(f"{label} (input hidden): ")
    text = stream.read(MAX_SECRET_CHARS + 1)
    if len(text) > MAX_SECRET_CHARS:
        raise CallexaError(
            f"The {label} given on standard input is far too long for a key; nothing was stored."
        )
    return text.strip()


def _source_words(source: str) -> str:
    return {
        KeySource.KEYCHAIN: "keychain",
        KeySource.ENVIRONMENT: "environment variable",
        KeySource.NOT_SET: "-",
    }.get(source, source)


def _environment_names() -> set[str]:
    return {name for name in ENV_VARS.values() if os.environ.get(name, "").strip()}
