"""The bytes of an identify file, decompressed when it is gzip, read in chunks.

``Content`` hides gzip, counts the raw bytes for progress and turns every low-level
read failure (a truncated gzip found mid-stream, a disk error) into one
UnreadableFile sentence that names the file.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Callable
from typing import Protocol

from callexa_desktop.core.errors import UnreadableFile

CHUNK_BYTES = 1 << 20  # one read; big enough that per-read overhead vanishes, small for memory
PROGRESS_STEP_BYTES = 256 << 10  # report progress at most once per this many raw bytes

GZIP_MAGIC = b"\x1f\x8b"
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

Progress = Callable[[int, int], None]


class ByteSource(Protocol):
    """Anything with ``read(size) -> bytes``: an open file, a response stream, a test generator."""

    def read(self, size: int = -1, /) -> bytes: ...


class Content:
    """The file's content bytes (after gzip), with one-level look-ahead for format detection.

    ``read`` returns b"" at the end. Raises UnreadableFile (naming ``source``)
    when the bytes cannot be read or decompressed, even far into the file.
    """

    def __init__(
        self,
        raw: ByteSource,
        *,
        source: str,
        total_bytes: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.source = source
        self._meter = _RawMeter(raw, total_bytes, progress)
        self._pending = b""
        self.compressed = False
        self._stream: ByteSource = self._meter
        head = self._guarded_read(self._meter, CHUNK_BYTES)
        if head.startswith(GZIP_MAGIC):
            self.compressed = True
            self._stream = gzip.GzipFile(fileobj=_Prefixed(head, self._meter), mode="rb")
        else:
            self._pending = head

    def read(self, size: int = CHUNK_BYTES) -> bytes:
        """Up to about ``size`` bytes of content; b"" at the end."""
        if self._pending:
            if len(self._pending) <= size:
                data, self._pending = self._pending, b""
            else:
                data, self._pending = self._pending[:size], self._pending[size:]
            return data
        return self._guarded_read(self._stream, size)

    def unread(self, data: bytes) -> None:
        """Put ``data`` back in front of what ``read`` returns next."""
        self._pending = data + self._pending

    def peek(self, size: int) -> bytes:
        """At least ``size`` bytes of what comes next (fewer only at the end), not consumed."""
        parts = []
        length = 0
        while length < size:
            data = self.read(size - length)
            if not data:
                break
            parts.append(data)
            length += len(data)
        head = b"".join(parts)
        self.unread(head)
        return head

    def peek_line(self, limit: int) -> bytes:
        """The first line (with its newline) if it ends within ``limit`` bytes, else that prefix."""
        head = b""
        while b"\n" not in head and len(head) < limit:
            data = self.read(CHUNK_BYTES)
            if not data:
                break
            head += data
        self.unread(head)
        end = head.find(b"\n")
        return head[: end + 1] if 0 <= end < limit else head[:limit]

    def recode_from_utf16(self) -> None:
        """Read the rest as UTF-16 (a byte-order mark said so) and hand it on as UTF-8."""
        self._stream = _Utf16AsUtf8(self._pending_then_stream())
        self._pending = b""

    def finish(self) -> None:
        """Report the final progress once the content has been read."""
        self._meter.report(final=True)

    def close(self) -> None:
        if isinstance(self._stream, gzip.GzipFile):
            self._stream.close()

    def _pending_then_stream(self) -> ByteSource:
        return _Prefixed(self._pending, _Guarded(self))

    def _guarded_read(self, stream: ByteSource, size: int) -> bytes:
        try:
            return stream.read(size)
        except EOFError as error:
            raise UnreadableFile(
                f"{self.source} ends in the middle of its gzip compression: the file is "
                "truncated (perhaps not completely downloaded or copied)."
            ) from error
        except (gzip.BadGzipFile, zlib.error) as error:
            raise UnreadableFile(
                f"{self.source} is damaged: its gzip compression cannot be read ({error})."
            ) from error
        except OSError as error:
            reason = error.strerror or str(error) or type(error).__name__
            raise UnreadableFile(f"{self.source} could not be read: {reason}.") from error


class _RawMeter:
    """Counts the raw bytes read (compressed ones for gzip) and reports progress, throttled."""

    def __init__(self, raw: ByteSource, total: int | None, progress: Progress | None) -> None:
        self._raw = raw
        self._total = total
        self._progress = progress
        self.done = 0
        self._reported = -1

    def read(self, size: int = -1, /) -> bytes:
        data = self._raw.read(size)
        if data:
            self.done += len(data)
            if self.done - self._reported >= PROGRESS_STEP_BYTES:
                self.report()
        return data or b""

    def report(self, *, final: bool = False) -> None:
        if self._progress is None or (final and self._reported == self.done):
            return
        self._reported = self.done
        # Unknown total: 0 while reading, the bytes read once done.
        total = self._total if self._total else (self.done if final else 0)
        self._progress(self.done, total)


class _Prefixed:
    """A byte source that gives ``head`` first, then the rest of ``rest``."""

    def __init__(self, head: bytes, rest: ByteSource) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1, /) -> bytes:
        if self._head:
            if size < 0 or size >= len(self._head):
                data, self._head = self._head, b""
            else:
                data, self._head = self._head[:size], self._head[size:]
            return data
        return self._rest.read(size)

    def seek(self, offset: int, /) -> int:
        raise OSError("an identify stream is read once, front to back")


class _Guarded:
    """The content's current stream, read through the content's error translation."""

    def __init__(self, content: Content) -> None:
        self._content = content
        self._stream = content._stream

    def read(self, size: int = -1, /) -> bytes:
        return self._content._guarded_read(self._stream, size if size > 0 else CHUNK_BYTES)


class _Utf16AsUtf8:
    """UTF-16 bytes in (byte-order mark first), the same text as UTF-8 bytes out."""

    def __init__(self, source: ByteSource) -> None:
        self._source = source
        self._decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
        self._done = False

    def read(self, size: int = -1, /) -> bytes:
        while not self._done:
            data = self._source.read(size if size > 0 else CHUNK_BYTES)
            text = self._decoder.decode(data, final=not data)
            self._done = not data
            if text:
                return text.encode("utf-8")
        return b""
