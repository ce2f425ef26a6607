"""JSON documents read incrementally: arrays, ``{"batch": [...]}`` envelopes, multi-line objects.

The text is held in a window of about a megabyte. Each array element is parsed
with the standard library's scanner (``raw_decode``) as soon as it is complete,
so memory stays flat however long the array. Lines are counted as the window
moves, so every record and rejection knows the line where it starts.

A broken element is rejected and reading resumes at the next line that starts
an element (a ``{`` indented no deeper than the broken one began). When no such
line follows, the rest of the document is reported once with that rejection.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from callexa_desktop.core.identify import Reason
from callexa_desktop.core.reading.content import CHUNK_BYTES, Content
from callexa_desktop.core.reading.messages import describe_json_error, items_from_value
from callexa_desktop.core.records import ReadItem, ReadNotice, RecordRejected

MAX_RECORD_CHARS = 16 << 20  # an element this long is given up on (no identify is near it)

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_LINE_HEAD = re.compile(r"([ \t]*)(?:,[ \t]*)?")
_BATCH_HEAD = re.compile(r'\{\s*"batch"\s*:\s*\[')
# A parse failure this close to the end of the window may only mean the value goes on.
_NEAR_END = 16
_REPLACEMENT = "\ufffd"
_UTF8_REPLACEMENT = _REPLACEMENT.encode("utf-8")


def read_json_stream(content: Content, *, source: str, import_time: datetime) -> Iterator[ReadItem]:
    """Every record in the JSON value(s) of ``content``, in order, with their lines."""
    reader = _JsonReader(content, source=source, import_time=import_time)
    yield from reader.read_all()


class _Failure:
    """Why a value could not be parsed, and whether it was merely too long."""

    def __init__(self, detail: str, *, too_long: bool = False) -> None:
        self.detail = detail
        self.too_long = too_long


class _Window:
    """A sliding window of decoded text over the content, with line and column numbers."""

    def __init__(self, content: Content) -> None:
        self._content = content
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text = ""
        self.pos = 0
        self.eof = False
        self.replaced_bytes = False  # some bytes were not UTF-8 and became U+FFFD
        self._base = 0  # offset in the whole text of text[0]
        self._mark = 0  # an index into text whose line number is _mark_line
        self._mark_line = 1
        self._last_newline = -1  # offset in the whole text of the last newline before _mark

    def more(self) -> bool:
        """Drop the text before ``pos`` and append the next chunk; False at the end."""
        if self.eof:
            return False
        self.line_of(self.pos)
        self._base += self.pos
        self.text = self.text[self.pos :]
        self._mark = self.pos = 0
        # Grow geometrically so one long value is not rescanned a thousand times.
        data = self._content.read(max(CHUNK_BYTES, len(self.text)))
        chunk = self._decoder.decode(data, final=not data)
        if not data:
            self.eof = True
        elif _REPLACEMENT in chunk and _UTF8_REPLACEMENT not in data:
            self.replaced_bytes = True
        self.text += chunk
        return bool(data) or bool(chunk)

    def line_of(self, index: int) -> int:
        """The line number of ``text[index]``; indices asked for never go backwards."""
        newlines = self.text.count("\n", self._mark, index)
        if newlines:
            self._mark_line += newlines
            self._last_newline = self._base + self.text.rfind("\n", self._mark, index)
        self._mark = index
        return self._mark_line

    def column(self, index: int) -> int:
        """0-based column of ``text[index]``: the indentation of an element that starts a line."""
        self.line_of(index)
        return self._base + index - self._last_newline - 1

    def next_char(self) -> str:
        """Skip blanks and return the next character without taking it ("" at the end)."""
        while True:
            self.pos = _WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.more():
                return ""

    def ensure(self, count: int) -> None:
        """Have at least ``count`` characters after ``pos`` in the window, if the file has them."""
        while len(self.text) - self.pos < count and self.more():
            pass

    def value(self) -> Any:
        """Parse the JSON value at ``pos`` and move past it.

        On failure returns a _Failure and leaves ``pos`` at the value's start.
        """
        start_line = self.line_of(self.pos)
        while True:
            try:
                value, self.pos = _DECODER.raw_decode(self.text, self.pos)
                return value
            except json.JSONDecodeError as error:
                cut_short = error.pos >= len(self.text) - _NEAR_END or error.msg.startswith(
                    "Unterminated string"
                )
                size = len(self.text) - self.pos
                if cut_short and not self.eof and size <= MAX_RECORD_CHARS:
                    self.more()
                    continue
                if cut_short and not self.eof:
                    return _Failure(
                        f"The value is longer than {MAX_RECORD_CHARS >> 20} million characters.",
                        too_long=True,
                    )
                line = start_line + self.text.count("\n", self.pos, error.pos)
                column = error.pos - self.text.rfind("\n", 0, error.pos)
                at = "the file ends first" if cut_short else f"line {line}, column {column}"
                return _Failure(describe_json_error(error, at=at))
            except RecursionError as error:
                return _Failure(describe_json_error(error))

    def resync(self, *, deepest: int, openers: str) -> bool:
        """Move to the next line that starts with one of ``openers`` indented at most ``deepest``.

        The search starts on the line after the one holding ``pos``. False (and
        the window at the end) when there is no such line.
        """
        newline = self.text.find("\n", self.pos)
        while True:
            if newline < 0:
                self.pos = len(self.text)
                if not self.more():
                    return False
                newline = self.text.find("\n")
                continue
            self.pos = newline  # keep the newline in the window while we look past it
            self.ensure(min(deepest, 4096) + 64)
            newline = self.pos
            head = _LINE_HEAD.match(self.text, newline + 1)
            assert head is not None  # the pattern matches the empty string
            start = head.end()
            opens = start < len(self.text) and self.text[start] in openers
            if opens and len(head.group(1)) <= deepest:
                self.pos = start
                return True
            newline = self.text.find("\n", newline + 1)


_DECODER = json.JSONDecoder()


class _JsonReader:
    def __init__(self, content: Content, *, source: str, import_time: datetime) -> None:
        self.window = _Window(content)
        self.source = source
        self.import_time = import_time
        self.stopped = False  # the rest of the document could not be read

    def read_all(self) -> Iterator[ReadItem]:
        window = self.window
        while not self.stopped:
            char = window.next_char()
            if not char:
                break
            if char == "[":
                yield from self._array()
            elif char == "{":
                yield from self._object()
            else:
                yield from self._stray_value()
        if window.replaced_bytes:
            yield ReadNotice(
                source=self.source,
                message=f"{self.source} contains bytes that are not UTF-8; they were replaced, "
                "so names or emails there may look wrong or be rejected.",
            )

    def _array(self) -> Iterator[ReadItem]:
        """The elements of the array at ``pos``; returns after its ``]`` (or the end)."""
        window = self.window
        window.pos += 1
        while True:
            char = window.next_char()
            if char == "]":
                window.pos += 1
                return
            if char == ",":  # lenient about empty slots and a trailing comma
                window.pos += 1
                continue
            if not char:
                line = window.line_of(window.pos)
                self.stopped = True
                yield self._rejected(line, "The file ends before the JSON array is closed.")
                return
            line = window.line_of(window.pos)
            value = window.value()
            if not isinstance(value, _Failure):
                yield from items_from_value(
                    value, source=self.source, line=line, import_time=self.import_time
                )
                continue
            found = window.resync(deepest=window.column(window.pos), openers="{")
            yield self._rejected(line, value.detail, rest_lost=not found)
            if not found:
                return

    def _object(self) -> Iterator[ReadItem]:
        """A top-level object: an envelope streamed element by element, or one message."""
        window = self.window
        window.ensure(256)
        if _BATCH_HEAD.match(window.text, window.pos):
            yield from self._object_by_members()
            return
        line = window.line_of(window.pos)
        value = window.value()
        if not isinstance(value, _Failure):
            yield from items_from_value(
                value, source=self.source, line=line, import_time=self.import_time
            )
            return
        if value.too_long:  # perhaps an envelope whose batch is not its first member
            yield from self._object_by_members()
            return
        found = window.resync(deepest=window.column(window.pos), openers="{[")
        yield self._rejected(line, value.detail, rest_lost=not found)

    def _object_by_members(self) -> Iterator[ReadItem]:
        """Read the object at ``pos`` member by member, streaming a ``batch`` array."""
        window = self.window
        line = window.line_of(window.pos)
        window.pos += 1
        members: dict[str, Any] = {}
        batch_seen = False
        problem = ""
        while True:
            char = window.next_char()
            if char == "}":
                window.pos += 1
                break
            if char == ",":
                window.pos += 1
                continue
            if not char:
                self.stopped = True
                problem = "The file ends before the JSON object is closed."
                break
            if char != '"':
                problem = f"Not valid JSON: expected a member name, found {char!r}."
                break
            key = window.value()
            if isinstance(key, _Failure):
                problem = key.detail
                break
            if window.next_char() != ":":
                problem = "Not valid JSON: expected ':' after a member name."
                break
            window.pos += 1
            if window.next_char() == "[" and key == "batch":
                batch_seen = True
                yield from self._array()
                if self.stopped:
                    return
                continue
            value = window.value()
            if isinstance(value, _Failure):
                problem = value.detail
                break
            members[key] = value
        if problem:
            found = not self.stopped and window.resync(deepest=0, openers="{[")
            yield self._rejected(line, problem, rest_lost=not found and not self.stopped)
            return
        if not batch_seen:
            yield from items_from_value(
                members, source=self.source, line=line, import_time=self.import_time
            )

    def _stray_value(self) -> Iterator[ReadItem]:
        """Something at the top level that is neither an array nor an object."""
        window = self.window
        line = window.line_of(window.pos)
        value = window.value()
        if not isinstance(value, _Failure):
            yield from items_from_value(
                value, source=self.source, line=line, import_time=self.import_time
            )
            return
        found = window.resync(deepest=1 << 30, openers="{[")
        yield self._rejected(line, value.detail, rest_lost=not found)

    def _rejected(self, line: int, detail: str, *, rest_lost: bool = False) -> RecordRejected:
        if rest_lost:
            self.stopped = True
            detail += " The rest of the file was skipped: no later line starts a new record."
        return RecordRejected(
            source=self.source, line=line, reason=Reason.MALFORMED_JSON, detail=detail
        )
