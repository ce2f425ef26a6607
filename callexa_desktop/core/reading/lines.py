"""Splitting content into lines without ever holding more than a chunk and one line."""

from __future__ import annotations

from collections.abc import Iterator

from callexa_desktop.core.reading.content import Content

MAX_LINE_BYTES = 16 << 20  # no identify record is this long; a longer line is skipped


def line_batches(content: Content, *, limit: int = MAX_LINE_BYTES) -> Iterator[list[bytes | None]]:
    """The lines of ``content`` (without their ``\\n``), a chunk's worth at a time, in order.

    A line longer than ``limit`` bytes comes out as None (it still counts as a
    line) and its bytes are dropped as they arrive, so memory stays bounded.
    """
    carry = b""
    skipping = False  # inside an over-long line that was already reported
    while True:
        chunk = content.read()
        if not chunk:
            break
        if skipping:
            end = chunk.find(b"\n")
            if end < 0:
                continue
            chunk = chunk[end + 1 :]
            skipping = False
        lines: list[bytes | None] = list((carry + chunk if carry else chunk).split(b"\n"))
        carry = lines.pop() or b""
        if len(carry) > limit:
            lines.append(None)
            carry = b""
            skipping = True
        if lines:
            yield lines
    if carry:
        yield [carry]
