"""Streaming the rows of a response export file (CSV or JSON), each with the line it starts on.

Formats: CSV with a header row; a JSON array of objects; a JSON object wrapping such an array
(``{"responses": [...]}``, also ``data``, ``items``, ``results``); one JSON object per line
(NDJSON) or a single object. Any of them may be gzip-compressed. Files are read in chunks,
never whole, so an export of millions of responses needs little memory.

This module only finds rows; ``core.responses`` decides whether a row is a valid response.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import re
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from callexa_desktop.core.errors import UnreadableFile

WRAPPER_KEYS = ("responses", "data", "items", "results")
_CHUNK_CHARS = 1 << 16
_MAX_ROW_CHARS = 1 << 22  # a single response this large is not a response
_NON_SPACE = re.compile(r"\S")


@dataclass(frozen=True, slots=True)
class RawRow:
    """One row as found: its fields, or the problem that kept it from being read."""

    line: int | None
    fields: dict[str, Any] | None = None
    problem: str = ""  # set when fields is None: why the row could not be read


def iter_rows(path: Path) -> Iterator[RawRow]:
    """The rows of the export file at ``path``, in order.

    Raises UnreadableFile (one sentence naming the file) when the file cannot be read at all:
    missing, binary, not UTF-8, a damaged gzip, a CSV without the needed header. That may be
    discovered only part-way through; rows yielded before it stay valid.
    """
    name = path.name
    try:
        raw = path.open("rb")
    except OSError as error:
        reason = error.strerror or "it cannot be opened"
        raise UnreadableFile(f"The file {name} could not be opened ({reason}).") from None
    with raw:
        try:
            compressed = raw.peek(2)[:2] == b"\x1f\x8b"
            text = _Text(gzip.GzipFile(fileobj=raw) if compressed else raw, name)
            first = text.peek_non_space()
            if first is None:
                raise UnreadableFile(f"The file {name} is empty; there are no responses in it.")
            if first in "[{":
                yield from _JsonRows(text, name).rows()
            else:
                yield from _csv_rows(text, name)
        except (OSError, EOFError, zlib.error) as error:
            raise UnreadableFile(
                f"The file {name} could not be read to the end ({_describe(error)}); "
                "responses before the damage were kept."
            ) from None


class _Binary(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class _Text:
    """UTF-8 text read in chunks from a binary stream, with a refusal for binary files."""

    def __init__(self, stream: _Binary, name: str) -> None:
        self._stream = stream
        self._name = name
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._pending = ""  # text peeked at but not yet handed out
        self._done = False

    def read(self) -> str:
        """The next piece of text; "" at the end."""
        if self._pending:
            chunk, self._pending = self._pending, ""
            return chunk
        return self._decode_next()

    def readline(self) -> str:
        """The next line including its newline; csv reads through this."""
        while "\n" not in self._pending and (more := self._decode_next()):
            self._pending += more
        cut = self._pending.find("\n")
        end = len(self._pending) if cut < 0 else cut + 1
        line, self._pending = self._pending[:end], self._pending[end:]
        return line

    def peek_non_space(self) -> str | None:
        """The first non-space character, left unread; None for an empty file."""
        while not (match := _NON_SPACE.search(self._pending)):
            more = self._decode_next()
            if not more:
                return None
            self._pending += more
        return match.group()

    def __iter__(self) -> Iterator[str]:
        while line := self.readline():
            yield line

    def _decode_next(self) -> str:
        while not self._done:
            data = self._stream.read(_CHUNK_CHARS)
            if b"\x00" in data:
                raise UnreadableFile(f"The file {self._name} is binary, not a CSV or JSON export.")
            try:
                chunk = self._decoder.decode(data, final=not data)
            except UnicodeDecodeError:
                raise UnreadableFile(
                    f"The file {self._name} is not UTF-8 text; export it again as UTF-8."
                ) from None
            self._done = not data
            if chunk:
                return chunk
        return ""


def _csv_rows(text: _Text, name: str) -> Iterator[RawRow]:
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as error:
        raise UnreadableFile(f"The file {name} is not a readable CSV file ({error}).") from None
    columns = [column.strip() for column in header]
    if not any(columns):
        raise UnreadableFile(f"The file {name} has an empty header row; a CSV export needs one.")
    previous_end = reader.line_num
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            line = previous_end + 1
            previous_end = reader.line_num
            yield RawRow(line, problem=f"malformed CSV row ({error})")
            continue
        line = previous_end + 1
        previous_end = reader.line_num
        if not any(value.strip() for value in values):
            continue  # blank lines are not records
        yield RawRow(line, dict(zip(columns, values, strict=False)))


class _JsonRows:
    """Top-level JSON values of a text stream, each with the line where it starts."""

    def __init__(self, text: _Text, name: str) -> None:
        self._text = text
        self._name = name
        self._decoder = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._line = 1  # line number at self._pos
        self._mark: int | None = None  # text from here on is kept for a rewind
        self._eof = False

    def rows(self) -> Iterator[RawRow]:
        first = self._peek()
        if first == "[":
            self._advance(self._pos + 1)
            yield from self._array_rows()
            return
        if first == "{" and (yield from self._wrapped_rows()):
            return
        yield from self._value_rows()

    # -- shapes --------------------------------------------------------------------------

    def _array_rows(self) -> Iterator[RawRow]:
        """Elements of an array whose ``[`` was just consumed, up to its ``]``."""
        expect_value = True
        while True:
            char = self._peek()
            if char is None:
                yield RawRow(self._line, problem="the file ends in the middle of the list")
                return
            if char == "]":
                self._advance(self._pos + 1)
                return
            if not expect_value:
                if char != ",":
                    yield RawRow(self._line, problem="malformed JSON: expected , between items")
                    return
                self._advance(self._pos + 1)
                expect_value = True
                continue
            line = self._line
            try:
                value = self._value()
            except ValueError as error:
                # Inside a list there is no safe place to resume; keep what came before.
                yield RawRow(line, problem=f"malformed JSON ({error}); the rest was not read")
                return
            yield _row(line, value)
            expect_value = False

    def _wrapped_rows(self) -> Generator[RawRow, None, bool]:
        """Rows of ``{"responses": [...]}``; False (and rewound) when the object is a record."""
        self._mark, mark_line = self._pos, self._line
        self._advance(self._pos + 1)
        try:
            while True:
                char = self._peek()
                if char != '"':
                    break
                key = self._value()
                if self._peek() != ":":
                    break
                self._advance(self._pos + 1)
                if key in WRAPPER_KEYS and self._peek() == "[":
                    self._mark = None
                    self._advance(self._pos + 1)
                    yield from self._array_rows()
                    return True
                self._value()  # some other field: skip its value
                if self._peek() != ",":
                    break
                self._advance(self._pos + 1)
        except ValueError:
            pass
        # Not a wrapper: read the object again from its start as an ordinary record.
        assert self._mark is not None
        self._pos, self._line, self._mark = self._mark, mark_line, None
        return False

    def _value_rows(self) -> Iterator[RawRow]:
        """One value after another (NDJSON, or a single object); a bad line is skipped."""
        while self._peek() is not None:
            line = self._line
            try:
                value = self._value()
            except ValueError as error:
                yield RawRow(line, problem=f"malformed JSON ({error})")
                self._skip_line()
                continue
            yield _row(line, value)

    # -- the buffer ----------------------------------------------------------------------

    def _peek(self) -> str | None:
        """The next non-space character (not consumed), or None at the end."""
        while True:
            match = _NON_SPACE.search(self._buf, self._pos)
            if match:
                self._advance(match.start())
                return match.group()
            self._advance(len(self._buf))
            if not self._fill():
                return None

    def _value(self) -> Any:
        """Decode the next JSON value and move past it; ValueError if bad or missing."""
        if self._peek() is None:
            raise ValueError("the file ends where a value should be")
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as error:
                if len(self._buf) - self._pos < _MAX_ROW_CHARS and self._fill():
                    continue
                raise ValueError(_short(error)) from None
            # A number at the very end of the buffer may continue in the next chunk.
            if end == len(self._buf) and self._fill():
                continue
            self._advance(end)
            return value

    def _skip_line(self) -> None:
        while True:
            cut = self._buf.find("\n", self._pos)
            if cut >= 0:
                self._advance(cut + 1)
                return
            self._advance(len(self._buf))
            if not self._fill():
                return

    def _advance(self, position: int) -> None:
        self._line += self._buf.count("\n", self._pos, position)
        self._pos = position

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._text.read()
        if not chunk:
            self._eof = True
            return False
        keep = self._pos if self._mark is None else min(self._mark, self._pos)
        self._buf = self._buf[keep:] + chunk
        self._pos -= keep
        if self._mark is not None:
            self._mark -= keep
        return True


def _row(line: int, value: Any) -> RawRow:
    if isinstance(value, dict):
        return RawRow(line, value)
    return RawRow(line, problem=f"expected an object with email and rating, found {_kind(value)}")


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    if value is None:
        return "null"
    return "a number" if isinstance(value, int | float) else "a value"


def _short(error: json.JSONDecodeError) -> str:
    return error.msg.lower()


def _describe(error: BaseException) -> str:
    if isinstance(error, EOFError):
        return "the compressed data ends early"
    if isinstance(error, zlib.error):
        return "the compressed data is damaged"
    return str(error) or type(error).__name__
