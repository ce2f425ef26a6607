"""NDJSON: one identify message (or a batch envelope) per line, read line by line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from callexa_desktop.core.identify import Reason, normalise_identify
from callexa_desktop.core.reading.content import Content
from callexa_desktop.core.reading.lines import MAX_LINE_BYTES, line_batches
from callexa_desktop.core.reading.messages import items_from_value, malformed
from callexa_desktop.core.records import ReadItem, RecordRejected

_DECODER = json.JSONDecoder()
_BLANK = " \t\r"


def read_ndjson(content: Content, *, source: str, import_time: datetime) -> Iterator[ReadItem]:
    """Each line of ``content`` as records; a line that is not JSON is rejected with its number.

    Blank lines are skipped. A bad line never stops the reading of the next one.
    """
    line = 0
    for batch in line_batches(content):
        for text in _texts(batch):
            line += 1
            if text is None:
                yield RecordRejected(
                    source=source,
                    line=line,
                    reason=Reason.MALFORMED_JSON,
                    detail=f"The line is longer than {MAX_LINE_BYTES >> 20} MB; it was skipped.",
                )
                continue
            if isinstance(text, bytes):
                yield RecordRejected(
                    source=source,
                    line=line,
                    reason=Reason.MALFORMED_JSON,
                    detail="The line is not valid UTF-8 text.",
                )
                continue
            try:
                value = _parse_line(text)
            except (ValueError, RecursionError) as error:
                if text.strip(_BLANK):
                    yield malformed(source, line, error)
                continue
            # The common case inline: one message per line, no envelope.
            if type(value) is dict and "batch" not in value:
                yield normalise_identify(value, source=source, line=line, import_time=import_time)
            else:
                yield from items_from_value(
                    value, source=source, line=line, import_time=import_time
                )


def _texts(batch: list[bytes | None]) -> list[str | bytes | None]:
    """The lines decoded as UTF-8 (one decode per chunk); a line that is not UTF-8 stays bytes."""
    if None not in batch:
        try:
            return list(b"\n".join(batch).decode("utf-8").split("\n"))  # type: ignore[arg-type]
        except UnicodeDecodeError:
            pass
    texts: list[str | bytes | None] = []
    for raw in batch:
        if raw is None:
            texts.append(None)
            continue
        try:
            texts.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(raw)
    return texts


def _parse_line(text: str) -> Any:
    # json.loads minus its encoding detection, which a decoded line does not need.
    start = 0 if text.startswith("{") else len(text) - len(text.lstrip(_BLANK))
    value, end = _DECODER.raw_decode(text, start)
    if end != len(text) and text[end:].strip(_BLANK):
        raise json.JSONDecodeError("Extra data after the value", text, end)
    return value
