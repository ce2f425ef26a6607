"""The committed icons match the SVG and hold the sizes each platform asks for."""

from __future__ import annotations

import configparser

import pytest

from tests.packaging.conftest import ROOT, load_packaging_module

RESOURCES = ROOT / "resources"
icon_files = load_packaging_module("icon_files")


def _png_of(size: int) -> bytes:
    return (RESOURCES / "icons" / f"callexa-desktop-{size}.png").read_bytes()


def test_windows_icon_holds_every_size_from_16_to_256() -> None:
    ico = (RESOURCES / "callexa-desktop.ico").read_bytes()

    assert icon_files.read_ico_sizes(ico) == list(icon_files.ICO_SIZES)


def test_macos_icon_holds_every_retina_and_plain_size() -> None:
    icns = (RESOURCES / "callexa-desktop.icns").read_bytes()

    assert icon_files.read_icns_types(icns) == list(icon_files.ICNS_TYPES)


def test_ico_built_from_pngs_lists_256_as_zero_and_points_at_each_png() -> None:
    pngs = {16: _png_of(16), 256: _png_of(256)}

    ico = icon_files.build_ico(pngs)

    assert icon_files.read_ico_sizes(ico) == [16, 256]
    second_entry = ico[6 + 16 : 6 + 32]
    assert second_entry[0] == 0  # 256 px is written as 0
    length = int.from_bytes(second_entry[8:12], "little")
    offset = int.from_bytes(second_entry[12:16], "little")
    assert ico[offset : offset + length] == pngs[256]


def test_a_png_of_the_wrong_size_is_refused_for_an_icon_slot() -> None:
    with pytest.raises(ValueError, match="the 32 px image is"):
        icon_files.build_ico({32: _png_of(16)})


def test_rendering_the_svg_gives_a_transparent_corner_and_an_opaque_tile() -> None:
    from PySide6.QtGui import QImage

    render_icons = load_packaging_module("render_icons")
    png = render_icons.render_png(RESOURCES / "callexa-desktop.svg", 64)

    image = QImage.fromData(png)
    assert (image.width(), image.height()) == (64, 64)
    assert image.pixelColor(0, 0).alpha() == 0
    assert image.pixelColor(32, 6).alpha() == 255


def test_desktop_entry_launches_the_command_with_the_shipped_icon_name() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(RESOURCES / "callexa-desktop.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]

    assert section["Type"] == "Application"
    assert section["Exec"].split()[0] == "callexa-desktop"
    assert section["Icon"] == "callexa-desktop"
    assert section["Terminal"] == "false"
    assert section["Categories"].endswith(";")
