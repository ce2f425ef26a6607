"""From one parsed JSON value to identify records: a message, a list or a batch envelope."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from callexa_desktop.core.identify import Reason, normalise_identify
from callexa_desktop.core.records import ReadItem, RecordRejected


def items_from_value(
    value: Any, *, source: str, line: int, import_time: datetime
) -> Iterator[ReadItem]:
    """The records in one JSON value that starts on ``line``.

    An object is one message, unless it is a ``{"batch": [...]}`` envelope; a
    list holds messages. Each message becomes a record or a rejection.
    """
    if isinstance(value, dict):
        batch = value.get("batch")
        messages = batch if isinstance(batch, list) else (value,)
    elif isinstance(value, list):
        messages = value
    else:
        messages = (value,)
    for message in messages:
        yield normalise_identify(message, source=source, line=line, import_time=import_time)


def malformed(source: str, line: int, error: Exception) -> RecordRejected:
    """The rejection for text at ``line`` that is not JSON, with the parser's reason in words."""
    return RecordRejected(
        source=source, line=line, reason=Reason.MALFORMED_JSON, detail=describe_json_error(error)
    )


def describe_json_error(error: Exception, *, at: str | None = None) -> str:
    """A short sentence for a JSON parsing failure; ``at`` overrides where it says it failed."""
    if isinstance(error, json.JSONDecodeError):
        return f"Not valid JSON: {error.msg} ({at or f'column {error.colno}'})."
    if isinstance(error, UnicodeDecodeError):
        return "Not valid UTF-8 text."
    if isinstance(error, RecursionError):
        return "Not readable JSON: it is nested too deeply."
    return f"Not valid JSON: {error}."
