"""Windows ``.ico`` and macOS ``.icns`` containers built from PNG images.

Both formats accept PNG-compressed entries (Windows Vista+, macOS 10.7+), so
each file is a small header followed by the PNGs rendered from the SVG icon.
No Qt and no image library: the PNG bytes are packed as they are.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

# ICNS entry types that hold PNG data, by pixel size; the @2x types reuse a size.
ICNS_TYPES: dict[bytes, int] = {
    b"icp4": 16,
    b"icp5": 32,
    b"icp6": 64,
    b"ic07": 128,
    b"ic08": 256,
    b"ic09": 512,
    b"ic10": 1024,
    b"ic11": 32,
    b"ic12": 64,
    b"ic13": 256,
    b"ic14": 512,
}

ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk; ValueError if ``png`` is not a PNG."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def build_ico(pngs: Mapping[int, bytes]) -> bytes:
    """An ``.ico`` with one PNG entry per size of ``pngs`` (size -> PNG bytes), smallest first."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    directory = b""
    images = b""
    for size in sizes:
        data = pngs[size]
        if png_size(data) != (size, size):
            raise ValueError(f"the {size} px image is {png_size(data)}")
        # A width/height byte of 0 means 256 pixels.
        edge = 0 if size >= 256 else size
        directory += struct.pack("<BBBBHHII", edge, edge, 0, 0, 1, 32, len(data), offset)
        images += data
        offset += len(data)
    return header + directory + images


def build_icns(pngs: Mapping[int, bytes]) -> bytes:
    """An ``.icns`` with every entry of ICNS_TYPES whose size is in ``pngs``."""
    body = b""
    for kind, size in ICNS_TYPES.items():
        data = pngs.get(size)
        if data is None:
            continue
        if png_size(data) != (size, size):
            raise ValueError(f"the {size} px image is {png_size(data)}")
        body += kind + struct.pack(">I", 8 + len(data)) + data
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def read_ico_sizes(ico: bytes) -> list[int]:
    """The pixel sizes listed in an ``.ico`` directory (for checks)."""
    _reserved, kind, count = struct.unpack("<HHH", ico[:6])
    if kind != 1:
        raise ValueError("not an icon file")
    sizes = []
    for index in range(count):
        edge = ico[6 + 16 * index]
        sizes.append(edge or 256)
    return sizes


def read_icns_types(icns: bytes) -> list[bytes]:
    """The entry types of an ``.icns`` file, in order (for checks)."""
    if icns[:4] != b"icns" or struct.unpack(">I", icns[4:8])[0] != len(icns):
        raise ValueError("not an icns file")
    kinds = []
    position = 8
    while position < len(icns):
        kind = icns[position : position + 4]
        length = struct.unpack(">I", icns[position + 4 : position + 8])[0]
        kinds.append(kind)
        position += length
    return kinds
