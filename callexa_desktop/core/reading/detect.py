"""Which format a file is in, decided from its content (the name is only a hint for CSV).

gzip is already undone by ``Content``. Then: nothing but blanks is empty; NUL or
many control bytes is not text; ``[`` or a multi-line ``{`` is JSON (array,
envelope or pretty-printed object); a first line that is a whole ``{...}`` is
NDJSON; a header row naming one of our columns (or a .csv name) is CSV.
"""

from __future__ import annotations

import codecs
import csv
from enum import Enum

from callexa_desktop.core.errors import UnreadableFile
from callexa_desktop.core.identify import CsvColumns
from callexa_desktop.core.reading.content import UTF16_BOMS, Content

SNIFF_BYTES = 64 << 10
FIRST_LINE_LIMIT = 1 << 20  # a longer first line is a minified document, not an NDJSON line
CSV_DELIMITERS = (",", ";", "\t", "|")
CSV_NAME_ENDINGS = (".csv", ".tsv", ".csv.gz", ".tsv.gz")

_WHITESPACE = b" \t\r\n"
# Bytes that never appear in text files (tab, newlines, form feed and escape excepted).
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27)) + b"\x7f"


class Format(Enum):
    EMPTY = "empty"
    NDJSON = "ndjson"
    JSON = "json"  # one array, envelope or object, possibly several concatenated
    CSV = "csv"


def detect_format(content: Content, *, name_hint: str) -> Format:
    """Look at the start of ``content`` (nothing is consumed but a byte-order mark).

    Raises UnreadableFile when it is not text, or is text in none of our formats.
    """
    head = content.peek(SNIFF_BYTES)
    if head.startswith(UTF16_BOMS):
        content.recode_from_utf16()
        head = content.peek(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        content.read(len(codecs.BOM_UTF8))
        head = head[len(codecs.BOM_UTF8) :]
    if not head.strip(_WHITESPACE):
        return Format.EMPTY
    _refuse_binary(head, content.source)

    first = head.lstrip(_WHITESPACE)[:1]
    if first == b"[":
        return Format.JSON
    if first == b"{":
        line = content.peek_line(FIRST_LINE_LIMIT).strip(_WHITESPACE)
        # A whole object on the first line: NDJSON (a lone object on one line is a
        # one-line NDJSON file too). An object spread over lines: JSON.
        if line.startswith(b"{") and line.endswith(b"}"):
            return Format.NDJSON
        return Format.JSON
    if _looks_like_csv(head) or name_hint.lower().endswith(CSV_NAME_ENDINGS):
        return Format.CSV
    sample = head.lstrip(_WHITESPACE)[:40].decode("utf-8", errors="replace").split("\n")[0]
    raise UnreadableFile(
        f"{content.source} is not identify JSON, NDJSON or a CSV file with a header row "
        f"(it starts with {sample!r})."
    )


def csv_delimiter(header_line: str) -> str:
    """The delimiter the header row uses most (``,`` when it has none: a single column)."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in CSV_DELIMITERS}
    best = max(CSV_DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _looks_like_csv(head: bytes) -> bool:
    first_line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    cells = next(csv.reader([first_line], delimiter=csv_delimiter(first_line)), [])
    return any(field is not None for field in CsvColumns.from_header(cells).fields)


def _refuse_binary(head: bytes, source: str) -> None:
    if head.startswith(b"PK\x03\x04"):
        raise UnreadableFile(
            f"{source} is a ZIP archive or a spreadsheet workbook, not a text file; "
            "export the records as CSV or JSON and import that."
        )
    if head.startswith((b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")):
        raise UnreadableFile(
            f"{source} is compressed with bzip2, xz or zstd; only gzip is supported, "
            "so decompress it first."
        )
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if b"\x00" in head or controls > len(head) // 100:
        raise UnreadableFile(
            f"{source} is not a text file; expected identify JSON, NDJSON or CSV "
            "(optionally gzip-compressed)."
        )
