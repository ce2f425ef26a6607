"""Reading identify records from a file or an open stream, in whichever format it is."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from callexa_desktop.core.errors import UnreadableFile
from callexa_desktop.core.reading.content import ByteSource, Content
from callexa_desktop.core.reading.csv_rows import read_csv
from callexa_desktop.core.reading.detect import Format, detect_format
from callexa_desktop.core.reading.json_stream import read_json_stream
from callexa_desktop.core.reading.ndjson import read_ndjson
from callexa_desktop.core.records import ReadItem, ReadNotice


def read_identify_file(
    path: Path,
    *,
    import_time: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[ReadItem]:
    """Stream the identify records of the file at ``path``, in order, as they are read.

    Formats: one JSON message, a JSON array, a ``{"batch": [...]}`` envelope,
    NDJSON, CSV with a header row; each optionally gzip-compressed, recognised
    by content. Yields IdentifyRecord, RecordRejected (reason and line) and
    ReadNotice items. ``import_time`` is the event time of records without one.
    ``progress(bytes_done, bytes_total)`` counts the bytes of the file on disk.

    Raises UnreadableFile, while being iterated, when the file cannot be read at
    all: missing, not text, not one of the formats, truncated gzip (possibly
    only found near the end), or a CSV without an email column.
    """
    source = str(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError as error:
        raise UnreadableFile(f"{source} does not exist.") from error
    except IsADirectoryError as error:
        raise UnreadableFile(f"{source} is a folder, not a file.") from error
    except PermissionError as error:
        raise UnreadableFile(f"{source} cannot be opened: permission denied.") from error
    except OSError as error:
        reason = error.strerror or str(error)
        raise UnreadableFile(f"{source} cannot be opened: {reason}.") from error
    with handle:
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        yield from read_identify_stream(
            handle, source=source, import_time=import_time, total_bytes=size, progress=progress
        )


def read_identify_stream(
    raw: ByteSource,
    *,
    source: str,
    import_time: datetime,
    total_bytes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[ReadItem]:
    """The same as ``read_identify_file`` for an open binary stream (a feed's body, a test).

    ``source`` names the stream in records and messages (a ``.csv`` ending also
    hints CSV); ``raw`` is only read, never closed. ``total_bytes`` is passed to
    ``progress`` as the total (0 while unknown).
    """
    content = Content(raw, source=source, total_bytes=total_bytes, progress=progress)
    try:
        found = detect_format(content, name_hint=source)
        if found is Format.EMPTY:
            yield ReadNotice(source=source, message=f"{source} is empty: it holds no records.")
        elif found is Format.NDJSON:
            yield from read_ndjson(content, source=source, import_time=import_time)
        elif found is Format.JSON:
            yield from read_json_stream(content, source=source, import_time=import_time)
        else:
            yield from read_csv(content, source=source, import_time=import_time)
        content.finish()
    finally:
        content.close()
