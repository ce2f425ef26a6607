"""Smoke-test a built bundle: run the frozen executable the way an operator would.

    .venv/bin/python packaging/smoke_test.py dist/callexa-desktop/callexa-desktop

Each step runs the executable in a fresh temporary profile (never the real one,
never the real keychain) and prints PASS, FAIL or SKIP (a command that does
not exist in this build yet). Exit status 1 when any step failed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bundle_layout import app_version

TIMEOUT_SECONDS = 120
# Commands other engineers add over time; a step that needs a missing one is skipped.
OPTIONAL_COMMANDS = ("import", "queue", "customers", "keys", "gui")


@dataclass
class StepResult:
    name: str
    outcome: str  # "PASS" | "FAIL" | "SKIP"
    detail: str


class SmokeTest:
    """Runs the steps against one executable; each step returns a one-line detail."""

    def __init__(self, executable: Path, work: Path) -> None:
        self.executable = executable
        self.work = work
        self.commands: set[str] = set()
        self.environment = _clean_environment(work)

    def run(
        self, *args: str, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The executable's result for ``args`` (text output, time-limited)."""
        environment = {**self.environment, **(extra_env or {})}
        return subprocess.run(
            [str(self.executable), *args],
            capture_output=True,
            text=True,
            env=environment,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )

    def has_command(self, name: str) -> bool:
        """True when this build knows ``name`` (argparse exits 2 for an unknown command)."""
        return self.run(name, "--help").returncode == 0

    def profile(self, name: str) -> str:
        return str(self.work / name)

    # Steps -----------------------------------------------------------------

    def version(self) -> str:
        result = self.run("--version")
        expected = app_version()
        _expect(result.returncode == 0 and expected in result.stdout, result, f"v{expected}")
        self.commands = {name for name in OPTIONAL_COMMANDS if self.has_command(name)}
        present = ", ".join(sorted(self.commands)) or "none"
        return f"{result.stdout.strip()}; optional commands present: {present}"

    def bundle_check(self) -> str:
        result = self.run(extra_env={"CALLEXA_DESKTOP_BUNDLE_CHECK": "1"})
        report = _json_of(result)
        failed = [check["name"] for check in report["checks"] if not check["ok"]]
        _expect(report["ok"] and report["frozen"], result, f"checks failed: {failed}")
        keyring = next(c for c in report["checks"] if c["name"] == "keyring")["detail"]
        detail = f"all {len(report['checks'])} checks ok; keyring: {keyring['native_status']}"
        session = shutil.which("dbus-run-session")
        if session:
            # Inside a D-Bus session the Secret Service backend gets as far as the bus.
            bus = subprocess.run(
                [session, "--", str(self.executable)],
                capture_output=True,
                text=True,
                env={**self.environment, "CALLEXA_DESKTOP_BUNDLE_CHECK": "1"},
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
            if bus.returncode == 0:
                checks = json.loads(bus.stdout)["checks"]
                status = next(c for c in checks if c["name"] == "keyring")["detail"]
                detail += f"; in a D-Bus session: {status['native_status']}"
        return detail

    def settings(self) -> str:
        profile = self.profile("settings")
        shown = _json_of(self.run("--data-dir", profile, "settings", "show", "--json"))
        _expect(shown.get("min_interval_weeks") == 26, None, f"unexpected settings {shown}")
        changed = self.run("--data-dir", profile, "settings", "set", "min_delay_days", "3")
        _expect(changed.returncode == 0, changed, "settings set failed")
        again = _json_of(self.run("--data-dir", profile, "settings", "show", "--json"))
        _expect(again.get("min_delay_days") == 3, None, "the changed setting was not kept")
        database = Path(profile) / "callexa.sqlite3"
        return f"{len(shown)} settings, change kept, database {database.stat().st_size} bytes"

    def refusal(self) -> str:
        result = self.run(
            "--data-dir", self.profile("settings"), "settings", "set", "min_delay_days", "-1"
        )
        lines = result.stderr.strip().splitlines()
        _expect(result.returncode != 0, result, "a negative delay was accepted")
        _expect(len(lines) == 1 and "Traceback" not in result.stderr, result, "not one sentence")
        return f"exit {result.returncode}: {lines[0]}"

    def import_file(self) -> str:
        if "import" not in self.commands:
            raise Skipped("no import command in this build yet")
        records = self.work / "identify.ndjson.gz"
        with gzip.open(records, "wt", encoding="utf-8") as out:
            for line in _sample_identify_lines():
                out.write(line + "\n")
        profile = self.profile("import")
        result = self.run("--data-dir", profile, "import", "--json", str(records))
        summary = _json_of(result)
        _expect(summary.get("accepted") == 2 and summary.get("rejected") == 1, result, f"{summary}")
        again = _json_of(self.run("--data-dir", profile, "import", "--json", str(records)))
        _expect(again.get("accepted") == 0, None, f"re-import changed data: {again}")
        detail = f"read {summary.get('read')}, accepted 2, rejected 1; re-import a no-op"
        if "queue" in self.commands:
            queue = _json_of(self.run("--data-dir", profile, "queue", "--json"))
            _expect(isinstance(queue, list) and len(queue) == 2, None, f"queue: {queue}")
            detail += f"; queue has {len(queue)} surveys"
        if "customers" in self.commands:
            customers = _json_of(self.run("--data-dir", profile, "customers", "--json"))
            emails = sorted(customer["email"] for customer in customers)
            _expect(emails == ["customer1@example.com", "customer2@example.com"], None, f"{emails}")
            detail += f"; {len(emails)} customers"
        return detail

    def keys(self) -> str:
        if "keys" not in self.commands:
            raise Skipped("no keys command in this build yet")
        result = self.run("--data-dir", self.profile("keys"), "keys", "status")
        _expect(result.returncode == 0 and "Traceback" not in result.stderr, result, "keys status")
        return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "ok"

    def window(self) -> str:
        if "gui" not in self.commands:
            raise Skipped("no gui command in this build yet")
        result = self.run(
            "--data-dir",
            self.profile("window"),
            "gui",
            "--demo",
            extra_env={"CALLEXA_DESKTOP_SMOKE_TEST": "1", "QT_QPA_PLATFORM": "offscreen"},
        )
        lines = [line for line in result.stdout.splitlines() if '"smoke_test"' in line]
        _expect(result.returncode == 0 and bool(lines), result, "the window did not open")
        return f"window shown: {json.loads(lines[-1])['titles']}"

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("--version", self.version),
            ("bundle check", self.bundle_check),
            ("settings show/set", self.settings),
            ("refusal is one sentence", self.refusal),
            ("import NDJSON", self.import_file),
            ("keys status", self.keys),
            ("window (offscreen)", self.window),
        ]


class Skipped(Exception):
    """A step that does not apply to this build."""


class StepFailed(Exception):
    """A step whose result was wrong; the message says what and shows the output."""


def run_smoke_test(executable: Path) -> list[StepResult]:
    """Every step's result, in order; later steps run even when an earlier one failed."""
    results = []
    with tempfile.TemporaryDirectory(prefix="callexa-smoke-") as folder:
        test = SmokeTest(executable.resolve(), Path(folder))
        for name, step in test.steps():
            try:
                results.append(StepResult(name, "PASS", step()))
            except Skipped as reason:
                results.append(StepResult(name, "SKIP", str(reason)))
            except (StepFailed, subprocess.TimeoutExpired, ValueError, KeyError) as error:
                results.append(StepResult(name, "FAIL", str(error)))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("executable", type=Path, help="the built callexa-desktop executable")
    parser.add_argument("--report", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    results = run_smoke_test(args.executable)
    for result in results:
        print(f"{result.outcome:4}  {result.name:24}  {result.detail}")
    if args.report:
        args.report.write_text(json.dumps([r.__dict__ for r in results], indent=2), "utf-8")
    return 1 if any(result.outcome == "FAIL" for result in results) else 0


def _clean_environment(work: Path) -> dict[str, str]:
    environment = dict(os.environ)
    # A smoke test must never see the operator's profile, keys or database.
    for name in ("CALLEXA_API_KEY", "SEGMENT_WRITE_KEY", "CALLEXA_DESKTOP_DATABASE_URL"):
        environment.pop(name, None)
    environment["CALLEXA_DESKTOP_HOME"] = str(work / "default-home")
    environment["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    environment.setdefault("QT_QPA_PLATFORM", "offscreen")
    return environment


def _json_of(result: subprocess.CompletedProcess[str]) -> Any:
    if result.returncode != 0:
        raise StepFailed(f"exit {result.returncode}: {result.stderr.strip()[-500:]}")
    return json.loads(result.stdout)


def _expect(condition: bool, result: subprocess.CompletedProcess[str] | None, what: str) -> None:
    if not condition:
        output = (
            "" if result is None else f" (exit {result.returncode}; {result.stderr.strip()[-300:]})"
        )
        raise StepFailed(what + output)


def _sample_identify_lines() -> list[str]:
    good = [
        {
            "type": "identify",
            "messageId": f"smoke-{index}",
            "userId": f"user-{index}",
            "timestamp": "2026-11-01T09:00:00Z",
            "traits": {"email": f"customer{index}@example.com", "createdAt": "2026-10-30"},
        }
        for index in (1, 2)
    ]
    bad = {"type": "identify", "messageId": "smoke-3", "traits": {"email": "not an address"}}
    return [json.dumps(record) for record in [*good, bad]]


if __name__ == "__main__":
    sys.exit(main())
