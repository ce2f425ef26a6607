"""Resources are found in a source checkout and in a PyInstaller bundle alike."""

from __future__ import annotations

import shutil
import struct
import sys
from pathlib import Path

import pytest

from callexa_desktop.core.errors import ResourceMissing
from callexa_desktop.resources import (
    APP_ICON_SIZES,
    app_icon_paths,
    resource_path,
    resources_dir,
)

CHECKOUT_RESOURCES = Path(__file__).resolve().parents[1] / "resources"


def test_source_checkout_finds_the_svg_icon_in_the_top_level_resources_folder() -> None:
    path = resource_path("callexa-desktop.svg")

    assert path == CHECKOUT_RESOURCES / "callexa-desktop.svg"
    assert path.read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_frozen_bundle_finds_resources_under_meipass(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shutil.copytree(CHECKOUT_RESOURCES, tmp_path / "resources")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)

    assert resources_dir() == tmp_path / "resources"
    assert resource_path("icons/callexa-desktop-32.png") == (
        tmp_path / "resources" / "icons" / "callexa-desktop-32.png"
    )


def test_frozen_bundle_without_the_file_says_which_file_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "resources").mkdir()
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)

    with pytest.raises(ResourceMissing, match=r"resources/callexa-desktop\.desktop is missing"):
        resource_path("callexa-desktop.desktop")


@pytest.mark.parametrize("name", ["../pyproject.toml", "/etc/passwd", ""])
def test_names_outside_the_resources_folder_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a resource name"):
        resource_path(name)


def test_app_icon_pngs_come_smallest_first_and_have_the_size_their_name_says() -> None:
    sizes = []
    for path in app_icon_paths():
        header = path.read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n", path
        width, height = struct.unpack(">II", header[16:24])
        assert path.name == f"callexa-desktop-{width}.png"
        assert width == height
        sizes.append(width)

    assert sizes == sorted(APP_ICON_SIZES)
