"""Build the installer for the platform this runs on (``make package`` calls this).

    .venv/bin/python packaging/build.py [--skip-smoke-test] [--reuse-build]

Linux gives a .tar.gz (and an AppImage when appimagetool is installed), Windows
an Inno Setup installer, macOS a .dmg. PyInstaller cannot cross-compile: each
installer is built on its own platform. Results land in ``dist/`` with
``dist/build-report.json`` (build time, bundle size, smoke-test results).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

PACKAGING = Path(__file__).resolve().parent
SCRIPTS = {
    "linux": PACKAGING / "linux" / "build_linux.py",
    "win32": PACKAGING / "windows" / "build_windows.py",
    "darwin": PACKAGING / "macos" / "build_macos.py",
}


def script_for(platform: str) -> Path:
    """The build script of ``platform`` (a ``sys.platform`` value); ValueError for others."""
    for prefix, script in SCRIPTS.items():
        if platform.startswith(prefix):
            return script
    raise ValueError(f"There is no installer recipe for {platform}; see packaging/README.md.")


def main(argv: list[str] | None = None) -> int:
    try:
        script = script_for(sys.platform)
    except ValueError as error:
        print(f"build.py: {error}", file=sys.stderr)
        return 2
    spec = importlib.util.spec_from_file_location(f"build_{script.parent.name}", script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return int(module.main(argv))


if __name__ == "__main__":
    sys.exit(main())
