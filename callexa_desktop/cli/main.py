"""Entry point of ``callexa-desktop``: parse, open the profile, run, print one sentence on failure.

Each command lives in its own module with ``register(subparsers)``; a command's
handler takes ``(args, profile)`` and returns the exit status.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from callexa_desktop import __version__
from callexa_desktop.cli import (
    customers_cmd,
    gui_cmd,
    import_cmd,
    keys_cmd,
    queue_cmd,
    responses_cmd,
    sandbox_cmd,
    send_cmd,
    settings_cmd,
    sync_cmd,
)
from callexa_desktop.core.errors import CallexaError
from callexa_desktop.core.logs import setup_logging
from callexa_desktop.core.paths import default_data_dir
from callexa_desktop.core.profile import Profile

log = logging.getLogger(__name__)

# Modules that add commands; each has register(subparsers).
COMMAND_MODULES = [
    settings_cmd,
    keys_cmd,
    send_cmd,
    sandbox_cmd,
    import_cmd,
    gui_cmd,
    queue_cmd,
    customers_cmd,
    responses_cmd,
    sync_cmd,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callexa-desktop",
        description=(
            "NPS surveys for Segment identify records. Without a command, opens the window."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="profile folder (default: CALLEXA_DESKTOP_HOME or the platform data folder)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "run", None)
    if handler is None:
        if args.command is None and "gui" in _command_names(parser):
            args = parser.parse_args([*(sys.argv[1:] if argv is None else argv), "gui"])
            handler = args.run
        else:
            parser.print_help()
            return 2
    data_dir = args.data_dir or default_data_dir()
    try:
        if getattr(args, "needs_profile", True):
            data_dir.mkdir(parents=True, exist_ok=True)
            setup_logging(data_dir)
            profile = Profile.open(data_dir)
            try:
                return int(handler(args, profile))
            finally:
                profile.close()
        return int(handler(args, None))
    except CallexaError as error:
        log.warning("%s failed: %s", args.command, error)
        print(f"callexa-desktop: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "callexa-desktop: interrupted; finished work is kept and the rest can be run again.",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:
        # Whoever read our output stopped early (e.g. `| head`); that is not a failure of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as error:  # the operator sees a sentence; the log keeps the traceback
        log.exception("unexpected error in %s", args.command)
        print(
            f"callexa-desktop: something went wrong ({type(error).__name__}); "
            f"details are in the log folder {data_dir / 'logs'}.",
            file=sys.stderr,
        )
        return 1


def _command_names(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


if __name__ == "__main__":
    sys.exit(main())
