"""Render ``resources/callexa-desktop.svg`` into the PNG, ICO and ICNS icons.

Run after changing the SVG: ``.venv/bin/python packaging/render_icons.py``.
The results are committed, so a source checkout and the packaging build need
no rendering step. Uses Qt's own SVG renderer (QtSvg ships with PySide6-Essentials).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from icon_files import ICNS_TYPES, ICO_SIZES, build_icns, build_ico

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "resources"
SVG = RESOURCES / "callexa-desktop.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def png_name(size: int) -> str:
    """File name (under ``resources/``) of the PNG icon of ``size`` pixels."""
    return f"icons/callexa-desktop-{size}.png"


def render_png(svg: Path, size: int) -> bytes:
    """The SVG drawn on a transparent ``size`` x ``size`` canvas, as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    # QPainter on an image needs a GUI application; offscreen needs no display.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if QGuiApplication.instance() is None:
        render_png.app = QGuiApplication([])  # type: ignore[attr-defined]
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not a valid SVG image")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # stubs say bytes, runtime wants str
    buffer.close()
    return bytes(data.data())


def main() -> int:
    wanted = set(PNG_SIZES) | set(ICNS_TYPES.values()) | set(ICO_SIZES)
    rendered = {size: render_png(SVG, size) for size in sorted(wanted)}
    (RESOURCES / "icons").mkdir(exist_ok=True)
    for size in PNG_SIZES:
        (RESOURCES / png_name(size)).write_bytes(rendered[size])
    (RESOURCES / "callexa-desktop.ico").write_bytes(
        build_ico({size: rendered[size] for size in ICO_SIZES})
    )
    (RESOURCES / "callexa-desktop.icns").write_bytes(build_icns(rendered))
    print(f"rendered {len(PNG_SIZES)} PNGs, callexa-desktop.ico and callexa-desktop.icns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
