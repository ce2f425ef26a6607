"""``sandbox [--port N]``: the local stand-in for Callexa and Segment, until Ctrl-C."""

from __future__ import annotations

import argparse
import threading
from typing import Any

from callexa_desktop.core.errors import CallexaError
from callexa_desktop.services.sandbox import Sandbox

DEFAULT_PORT = 8765


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox", help="run a local stand-in for the Callexa API and Segment (rehearsal, demos)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0 = any free one)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for simulated replies")
    parser.add_argument(
        "--budget", type=int, default=None, help="monthly survey budget of the sandbox account"
    )
    parser.set_defaults(run=run_sandbox, needs_profile=False)


def run_sandbox(args: argparse.Namespace, _profile: None) -> int:
    sandbox = Sandbox(monthly_budget=args.budget, seed=args.seed)
    try:
        sandbox.start(args.port)
    except OSError as error:
        raise CallexaError(
            f"The sandbox could not listen on 127.0.0.1:{args.port} ({error.strerror or error}); "
            "choose another port with --port."
        ) from None
    try:
        _print_instructions(sandbox)
        stop = threading.Event()
        # A timed wait keeps Ctrl-C responsive on every platform.
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    print("Sandbox stopped.", flush=True)
    return 0


def _print_instructions(sandbox: Sandbox) -> None:
    base, segment = sandbox.callexa_base_url, sandbox.segment_endpoint
    lines = [
        f"Callexa Desktop sandbox listening on {sandbox.url} (Ctrl-C stops it).",
        f"  callexa_base_url  {base}",
        f"  segment_endpoint  {segment}",
        "Point a throwaway profile at it (never your real one):",
        f"  callexa-desktop --data-dir DIR settings set callexa_base_url {base}",
        f"  callexa-desktop --data-dir DIR settings set segment_endpoint {segment}",
        "Any non-empty API key and write key are accepted, e.g. CALLEXA_API_KEY=sandbox.",
        "Simulate replies from surveyed recipients:",
        f"  curl -X POST {base}/_sandbox/replies -d '{{\"count\": 5}}'",
        f"Emails sent so far: {base}/_sandbox/emails",
    ]
    print("\n".join(lines), flush=True)
