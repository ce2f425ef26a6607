"""Files that ship with the program (icons, desktop entry), found wherever it runs.

The top-level ``resources/`` folder sits next to the package in a source
checkout or editable install, and under ``sys._MEIPASS`` in a PyInstaller
bundle (the spec copies it there under the same name).
"""

from __future__ import annotations

import sys
from pathlib import Path, PurePosixPath

from callexa_desktop.core.errors import ResourceMissing

RESOURCES_FOLDER = "resources"
APP_ICON_SVG = "callexa-desktop.svg"
APP_ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
DESKTOP_ENTRY = "callexa-desktop.desktop"


def resources_dir() -> Path:
    """The folder holding the resources: the bundle's copy when frozen, else the checkout's."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / RESOURCES_FOLDER
    return Path(__file__).resolve().parent.parent / RESOURCES_FOLDER


def resource_path(name: str) -> Path:
    """The path of resource ``name`` (e.g. ``"icons/callexa-desktop-32.png"``).

    ``name`` is relative with forward slashes. Raises ResourceMissing when the
    file is not there (a broken installation), ValueError for a name that
    would leave the resources folder.
    """
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"{name!r} is not a resource name")
    path = resources_dir().joinpath(*relative.parts)
    if not path.is_file():
        raise ResourceMissing(
            f"The file {RESOURCES_FOLDER}/{relative} is missing from this installation "
            "of Callexa Desktop; reinstalling it should bring it back."
        )
    return path


def app_icon_paths() -> list[Path]:
    """The application icon as PNGs, smallest first, for ``QIcon.addFile`` (no SVG plugin)."""
    return [resource_path(f"icons/callexa-desktop-{size}.png") for size in APP_ICON_SIZES]
