"""Steps every platform's build shares: run PyInstaller, measure, smoke-test, report.

The platform scripts (``linux/build_linux.py``, ``windows/build_windows.py``,
``macos/build_macos.py``) call these and add their own installer step.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bundle_layout import EXE_NAME, PACKAGING, ROOT, app_version
from smoke_test import StepResult, run_smoke_test

SPEC = PACKAGING / "callexa-desktop.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"


@dataclass
class BuildReport:
    """What one build produced; written to ``dist/build-report.json``."""

    platform: str
    machine: str
    version: str
    pyinstaller_seconds: float = 0.0
    packaging_seconds: float = 0.0
    bundle: str = ""
    bundle_bytes: int = 0
    bundle_files: int = 0
    artefacts: dict[str, int] = field(default_factory=dict)  # path -> bytes
    notes: list[str] = field(default_factory=list)
    smoke_test: list[dict[str, str]] = field(default_factory=list)

    def add_artefact(self, path: Path) -> None:
        self.artefacts[str(path.relative_to(ROOT))] = path.stat().st_size

    def print_summary(self) -> None:
        print(f"\nCallexa Desktop {self.version} for {self.platform} ({self.machine})")
        seconds = f"{self.pyinstaller_seconds:.0f} s + packaging {self.packaging_seconds:.0f} s"
        print(f"  build time: PyInstaller {seconds}")
        print(f"  bundle {self.bundle}: {megabytes(self.bundle_bytes)}, {self.bundle_files} files")
        for path, size in self.artefacts.items():
            print(f"  {path}: {megabytes(size)}")
        for note in self.notes:
            print(f"  note: {note}")


def parse_options(argv: Sequence[str] | None, description: str) -> argparse.Namespace:
    """The options every platform script accepts."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--skip-smoke-test", action="store_true", help="do not run the bundle")
    parser.add_argument(
        "--reuse-build", action="store_true", help="keep PyInstaller's cache (faster rebuilds)"
    )
    return parser.parse_args(argv)


def run(command: Sequence[str | Path], **kwargs: object) -> None:
    """Run ``command``, echoing it; a failure stops the build with the command's status."""
    print("+", " ".join(str(part) for part in command), flush=True)
    subprocess.run([str(part) for part in command], check=True, **kwargs)  # type: ignore[call-overload]


def build_bundle(report: BuildReport, *, clean: bool = True) -> None:
    """Run PyInstaller on the spec into ``dist/``; records the time it took."""
    started = time.monotonic()
    command: list[str | Path] = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--distpath",
        DIST,
        "--workpath",
        WORK,
    ]
    if clean:
        command.append("--clean")
    run([*command, SPEC], cwd=ROOT)
    report.pyinstaller_seconds = round(time.monotonic() - started, 1)


def measure_bundle(report: BuildReport, bundle: Path) -> None:
    """Size and file count of the bundle folder (or .app)."""
    files = [path for path in bundle.rglob("*") if path.is_file() and not path.is_symlink()]
    report.bundle = str(bundle.relative_to(ROOT))
    report.bundle_bytes = sum(path.stat().st_size for path in files)
    report.bundle_files = len(files)


def smoke_test(report: BuildReport, executable: Path) -> bool:
    """Run the smoke test, print each step, keep the results; True when nothing failed."""
    print(f"\nSmoke test of {executable}")
    results: list[StepResult] = run_smoke_test(executable)
    for result in results:
        print(f"  {result.outcome:4}  {result.name:24}  {result.detail}")
    report.smoke_test = [asdict(result) for result in results]
    return not any(result.outcome == "FAIL" for result in results)


def write_report(report: BuildReport) -> Path:
    path = DIST / "build-report.json"
    path.write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    return path


def new_report() -> BuildReport:
    return BuildReport(platform=sys.platform, machine=platform.machine(), version=app_version())


def build_for_platform(
    argv: Sequence[str] | None,
    *,
    description: str,
    bundle_path: Path,
    executable: Path,
    package: Callable[[BuildReport], None],
) -> int:
    """The whole pipeline: bundle, measure, installer step, smoke test, report.

    ``package`` turns the bundle into the platform's installer and records its
    artefacts and notes in the report. Returns the exit status.
    """
    options = parse_options(argv, description)
    report = new_report()
    build_bundle(report, clean=not options.reuse_build)
    measure_bundle(report, bundle_path)
    started = time.monotonic()
    package(report)
    report.packaging_seconds = round(time.monotonic() - started, 1)
    passed = True
    if not options.skip_smoke_test:
        passed = smoke_test(report, executable)
    report.print_summary()
    print(f"  report: {write_report(report).relative_to(ROOT)}")
    return 0 if passed else 1


def which(tool: str, *fallbacks: str) -> str | None:
    """``tool`` on PATH, else the first existing fallback path."""
    found = shutil.which(tool)
    if found:
        return found
    return next((path for path in fallbacks if os.path.exists(path)), None)


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


__all__ = ["DIST", "EXE_NAME", "ROOT", "BuildReport", "build_for_platform", "megabytes", "run"]
