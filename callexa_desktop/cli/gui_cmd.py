"""``gui [--demo] [--demo-unless-keys]``: open the window (also what no command at all does).

Before anything graphical is loaded this checks that a window can open at all: without a
display, or with Qt's X11 support missing a system library, Qt would abort the process
with a message meant for developers; the operator gets one plain sentence instead.
Qt itself is imported only inside the handler (through ``app.launcher``), so the rest of
the command line never needs it.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import logging
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from callexa_desktop.core.paths import default_data_dir

log = logging.getLogger(__name__)

NO_DISPLAY = (
    "No display found: the window can't open here. "
    "Use the command line instead: callexa-desktop --help"
)

# Qt platform plugins that need no screen at all.
_HEADLESS_PLATFORMS = ("offscreen", "minimal")
# The library Qt's X11 plugin is built on; loading it shows which system library is missing.
_XCB_LIBRARY = "libQt6XcbQpa.so.6"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("gui", help="open the window (the default without a command)")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument(
        "--demo",
        action="store_true",
        help="a throwaway profile with sample data, wired to the local sandbox",
    )
    choice.add_argument(
        "--demo-unless-keys",
        action="store_true",
        help="the demo profile when no key is set yet, else the real profile (used by make run)",
    )
    # The profile is opened by the window itself, after the single-instance check.
    parser.set_defaults(run=run_gui, needs_profile=False)


def run_gui(args: argparse.Namespace, _profile: object) -> int:
    """Open the window; returns the exit status (1 with a sentence when no window can open)."""
    problem = display_problem(os.environ, sys.platform) or xcb_problem(os.environ, sys.platform)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    data_dir: Path = args.data_dir or default_data_dir()
    demo = bool(args.demo) or (bool(args.demo_unless_keys) and not keys_are_set(data_dir))
    # Qt is loaded only now: the other commands must work on machines without it.
    from callexa_desktop.app.launcher import run_window

    return run_window(data_dir, demo=demo)


def display_problem(environ: Mapping[str, str], platform: str) -> str | None:
    """The no-display sentence when a Linux/BSD session has no screen for Qt, else None."""
    if not platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return None  # Windows and macOS always have their own window system
    requested = environ.get("QT_QPA_PLATFORM", "").strip().lower()
    if requested.startswith(_HEADLESS_PLATFORMS):
        return None
    has_x11 = bool(environ.get("DISPLAY"))
    has_wayland = bool(environ.get("WAYLAND_DISPLAY"))
    if requested.startswith("xcb"):
        return None if has_x11 else NO_DISPLAY
    if requested.startswith("wayland"):
        return None if has_wayland else NO_DISPLAY
    if requested:
        return None  # framebuffer, VNC, eglfs…: the operator chose it, Qt will say
    return None if has_x11 or has_wayland else NO_DISPLAY


def xcb_problem(
    environ: Mapping[str, str],
    platform: str,
    *,
    load: Callable[[str], object] = ctypes.CDLL,
    qt_library_dir: Path | None = None,
) -> str | None:
    """A sentence naming the missing system library when Qt's X11 plugin cannot load, else None.

    Only asked when Qt will use X11 (a DISPLAY, no Wayland, no other platform requested).
    ``load`` and ``qt_library_dir`` are replaceable for tests.
    """
    if not platform.startswith("linux"):
        return None
    requested = environ.get("QT_QPA_PLATFORM", "").strip().lower()
    uses_xcb = requested.startswith("xcb") or (
        not requested and environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY")
    )
    if not uses_xcb:
        return None
    folder = qt_library_dir or _qt_library_dir()
    if folder is None or not (folder / _XCB_LIBRARY).exists():
        return None  # a packaged or unusual layout: let Qt try
    try:
        load(str(folder / _XCB_LIBRARY))
    except OSError as error:
        # A frozen build's ctypes re-raises with its own text; the loader's is the cause.
        missing = _missing_library(str(error)) or _missing_library(str(error.__cause__ or ""))
        log.info("Qt's X11 support could not load: %s", error)
        if missing is None:
            return (
                "The window can't open: Qt's X11 display support could not be loaded "
                "(a system library is missing). Install your distribution's Qt/XCB runtime "
                "libraries, or use the command line: callexa-desktop --help"
            )
        return (
            f"The window can't open: Qt's X11 display support needs the system library "
            f"{missing}, which is not installed. Install it (on Debian or Ubuntu: "
            f"sudo apt install {debian_package_for(missing)}), or use the command line: "
            "callexa-desktop --help"
        )
    return None


def debian_package_for(library: str) -> str:
    """The usual Debian/Ubuntu package name of a shared library, e.g. libxcb-cursor.so.0 →
    libxcb-cursor0 and libxkbcommon-x11.so.0 → libxkbcommon-x11-0."""
    match = re.fullmatch(r"(?P<stem>.+?)\.so\.(?P<major>\d+)(?:\..*)?", library)
    if match is None:
        return library
    stem, major = match["stem"].lower(), match["major"]
    # Debian separates the version with a hyphen when the name already ends in a digit.
    return f"{stem}-{major}" if stem[-1].isdigit() else f"{stem}{major}"


def keys_are_set(data_dir: Path) -> bool:
    """True when the profile has a Callexa or Segment key (keychain or environment)."""
    from callexa_desktop.services.keychain import Keychain

    try:
        return any(status.is_set for status in Keychain(data_dir).status())
    except Exception as error:  # an unreadable keychain means "no keys" for choosing the demo
        log.warning("Could not read the key status: %s", type(error).__name__)
        return False


def _missing_library(message: str) -> str | None:
    match = re.search(r"([\w.+-]+\.so(?:\.\d+)*): cannot open shared object file", message)
    return match[1] if match else None


def _qt_library_dir() -> Path | None:
    # find_spec locates PySide6 without importing (and so without loading) Qt.
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "Qt" / "lib"
