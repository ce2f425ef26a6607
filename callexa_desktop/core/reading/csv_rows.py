"""CSV with a header row: each data row is one identify record.

Encoding is decided line by line: a line that is valid UTF-8 is read as UTF-8,
any other line as Windows-1252 (Latin-1 for the five bytes cp1252 leaves
undefined), and the first such line brings a ReadNotice. Deciding per line
never needs the whole file in memory or a second pass (a stream from a feed
cannot be rewound), and it reads correctly both a cp1252 export (accented
cp1252 text practically never forms valid UTF-8 sequences) and a UTF-8 file
with a few rows pasted in from elsewhere. A UTF-8 byte-order mark is dropped
before this module sees the content.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from datetime import datetime

from callexa_desktop.core.errors import UnreadableFile
from callexa_desktop.core.identify import CsvColumns, Reason, normalise_csv_row
from callexa_desktop.core.reading.content import Content
from callexa_desktop.core.reading.detect import csv_delimiter
from callexa_desktop.core.reading.lines import MAX_LINE_BYTES, line_batches
from callexa_desktop.core.records import ReadItem, ReadNotice, RecordRejected


def read_csv(content: Content, *, source: str, import_time: datetime) -> Iterator[ReadItem]:
    """Each data row of ``content`` as a record or a rejection (line = the row's first line).

    Raises UnreadableFile when the header row has no email column.
    """
    pending: list[ReadItem] = []  # notices and rejections found while decoding lines
    lines = _decoded_lines(content, source=source, pending=pending)
    first = next(lines, "")
    reader = csv.reader(itertools.chain([first], lines), delimiter=csv_delimiter(first))
    try:
        header = next(reader, [])
    except csv.Error as error:
        raise UnreadableFile(f"{source} has a header row that cannot be read ({error}).") from error
    columns = CsvColumns.from_header(header)
    if not columns.has_email:
        found = ", ".join(repr(name) for name in columns.header if name) or "none"
        raise UnreadableFile(
            f"{source} has no email column (its columns are: {found}); "
            "a CSV of identify records needs a column named email."
        )
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            yield from _drain(pending)
            yield RecordRejected(
                source=source, line=line, reason=Reason.MALFORMED_CSV, detail=f"{error}."
            )
            continue
        if pending:
            yield from _drain(pending)
        if not any(cells):
            continue
        yield normalise_csv_row(cells, columns, source=source, line=line, import_time=import_time)
    yield from _drain(pending)


def _decoded_lines(content: Content, *, source: str, pending: list[ReadItem]) -> Iterator[str]:
    number = 0
    fell_back = False
    for batch in line_batches(content):
        for raw in batch:
            number += 1
            if raw is None:
                pending.append(
                    RecordRejected(
                        source=source,
                        line=number,
                        reason=Reason.MALFORMED_CSV,
                        detail=f"The line is longer than {MAX_LINE_BYTES >> 20} MB; "
                        "it was skipped.",
                    )
                )
                yield "\n"
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = _decode_western(raw)
                if not fell_back:
                    fell_back = True
                    pending.append(
                        ReadNotice(
                            source=source,
                            message=f"{source} is not UTF-8 (first at line {number}); such "
                            "lines were read as Windows-1252 / Latin-1. Check accented "
                            "names if they look wrong.",
                        )
                    )
            yield text + "\n"


def _decode_western(raw: bytes) -> str:
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:  # one of the bytes cp1252 leaves undefined
        return raw.decode("latin-1")


def _drain(pending: list[ReadItem]) -> Iterator[ReadItem]:
    items = pending[:]
    pending.clear()
    yield from items
