"""Run a Python snippet in a fresh offscreen Qt process: for crashes a test cannot survive."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def run_offscreen(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -c script args...`` from the repository folder, offscreen, output captured."""
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        cwd=REPOSITORY,
    )
