"""Reading identify files and streams: every format, gzip, bad lines, bad files, flat memory."""

from __future__ import annotations

import gzip
import io
import json
import secrets
import tracemalloc
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from callexa_desktop.core.errors import UnreadableFile
from callexa_desktop.core.reading import read_identify_file, read_identify_stream
from callexa_desktop.core.reading.content import CHUNK_BYTES, PROGRESS_STEP_BYTES, Content
from callexa_desktop.core.reading.lines import line_batches
from callexa_desktop.core.records import IdentifyRecord, ReadItem, ReadNotice, RecordRejected

IMPORT_TIME = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def message(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "identify",
        "messageId": f"m-{n}",
        "userId": f"u-{n}",
        "timestamp": "2026-01-01T00:00:00Z",
        "traits": {"email": f"person{n}@example.com", "name": f"Person {n}"},
        **extra,
    }


def ndjson(messages: Iterable[Any]) -> str:
    return "".join(json.dumps(m) + "\n" for m in messages)


def write(folder: Path, name: str, data: str | bytes, *, gzipped: bool = False) -> Path:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    path = folder / (name + (".gz" if gzipped else ""))
    path.write_bytes(gzip.compress(raw) if gzipped else raw)
    return path


def read(path: Path, **kwargs: Any) -> list[ReadItem]:
    return list(read_identify_file(path, import_time=IMPORT_TIME, **kwargs))


def records(items: list[ReadItem]) -> list[tuple[str, int | None]]:
    return [(i.email, i.line) for i in items if isinstance(i, IdentifyRecord)]


def rejections(items: list[ReadItem]) -> list[tuple[int | None, str]]:
    return [(i.line, i.reason) for i in items if isinstance(i, RecordRejected)]


def notices(items: list[ReadItem]) -> list[str]:
    return [i.message for i in items if isinstance(i, ReadNotice)]


# -- every format, plain and gzip ------------------------------------------------------------

FORMATS: dict[str, tuple[str, str, list[tuple[str, int]]]] = {
    "single object on one line": (
        "one.json",
        json.dumps(message(1)),
        [("person1@example.com", 1)],
    ),
    "single pretty-printed object": (
        "one.json",
        "\n" + json.dumps(message(1), indent=2),
        [("person1@example.com", 2)],
    ),
    "array with one element per line": (
        "list.json",
        "[\n" + ",\n".join(json.dumps(message(n)) for n in (1, 2, 3)) + "\n]\n",
        [("person1@example.com", 2), ("person2@example.com", 3), ("person3@example.com", 4)],
    ),
    "minified array": (
        "list.json",
        json.dumps([message(1), message(2)]),
        [("person1@example.com", 1), ("person2@example.com", 1)],
    ),
    "pretty-printed array": (
        "list.json",
        json.dumps([message(1), message(2)], indent=2),
        [("person1@example.com", 2), ("person2@example.com", 12)],
    ),
    "batch envelope": (
        "batch.json",
        json.dumps({"batch": [message(1), message(2)], "sentAt": "2026-01-01T00:00:00Z"}),
        [("person1@example.com", 1), ("person2@example.com", 1)],
    ),
    "pretty-printed batch envelope": (
        "batch.json",
        json.dumps({"batch": [message(1), message(2)], "context": {"x": 1}}, indent=1),
        [("person1@example.com", 3), ("person2@example.com", 13)],
    ),
    "batch envelope whose batch is not the first member": (
        "batch.json",
        json.dumps({"sentAt": "2026-01-01T00:00:00Z", "batch": [message(1)]}, indent=1),
        [("person1@example.com", 1)],
    ),
    "NDJSON": (
        "people.ndjson",
        ndjson(message(n) for n in (1, 2, 3)),
        [("person1@example.com", 1), ("person2@example.com", 2), ("person3@example.com", 3)],
    ),
    "NDJSON with CRLF line ends and blank lines": (
        "people.ndjson",
        json.dumps(message(1)) + "\r\n\r\n" + json.dumps(message(2)) + "\r\n",
        [("person1@example.com", 1), ("person2@example.com", 3)],
    ),
    "CSV": (
        "people.csv",
        "email,name,createdAt\nperson1@example.com,Person 1,2024-01-05\n"
        "person2@example.com,Person 2,\n",
        [("person1@example.com", 2), ("person2@example.com", 3)],
    ),
}


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("kind", list(FORMATS))
def test_every_format_is_read_plain_or_gzipped_with_lines(
    tmp_path: Path, kind: str, gzipped: bool
) -> None:
    name, text, expected = FORMATS[kind]
    items = read(write(tmp_path, name, text, gzipped=gzipped))
    assert records(items) == expected
    assert rejections(items) == []


def test_the_format_is_recognised_by_content_not_by_name(tmp_path: Path) -> None:
    gzipped_without_suffix = tmp_path / "export.json"
    gzipped_without_suffix.write_bytes(gzip.compress(ndjson([message(1)]).encode()))
    misnamed_csv = write(tmp_path, "people.txt", "Email;Name\nperson2@example.com;P\n")
    plain_named_gz = write(tmp_path, "array.gz", json.dumps([message(3)]))
    assert records(read(gzipped_without_suffix)) == [("person1@example.com", 1)]
    assert records(read(misnamed_csv)) == [("person2@example.com", 2)]
    assert records(read(plain_named_gz)) == [("person3@example.com", 1)]


def test_a_ndjson_line_may_hold_a_batch_envelope_or_an_array(tmp_path: Path) -> None:
    text = ndjson([message(1), {"batch": [message(2), message(3)]}, [message(4)]])
    assert records(read(write(tmp_path, "mixed.ndjson", text))) == [
        ("person1@example.com", 1),
        ("person2@example.com", 2),
        ("person3@example.com", 2),
        ("person4@example.com", 3),
    ]


def test_invalid_records_are_rejected_with_reason_and_line_and_the_rest_kept(
    tmp_path: Path,
) -> None:
    text = ndjson(
        [
            message(1),
            message(2, traits={"name": "no email"}),
            message(3, type="track"),
            message(4, traits={"email": "person4@example.com", "createdAt": "soon"}),
            message(5),
        ]
    )
    items = read(write(tmp_path, "people.ndjson", text))
    assert records(items) == [("person1@example.com", 1), ("person5@example.com", 5)]
    assert rejections(items) == [
        (2, "missing_email"),
        (3, "not_identify"),
        (4, "invalid_created_at"),
    ]
    assert all(i.source == str(tmp_path / "people.ndjson") for i in items)


# -- malformed text among good records -------------------------------------------------------


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_malformed_ndjson_lines_are_rejected_and_every_good_line_comes_through(
    tmp_path: Path, gzipped: bool
) -> None:
    lines = [json.dumps(message(n)) for n in range(1, 11)]
    lines[2] = '{"type": "identify", "traits": {"email": '  # cut short
    lines[5] = "this is not json"
    lines[7] = json.dumps(message(8)) + " trailing"
    lines[9] = '{"type": "identify"}}'
    items = read(write(tmp_path, "mixed.ndjson", "\n".join(lines) + "\n", gzipped=gzipped))
    assert [line for _, line in records(items)] == [1, 2, 4, 5, 7, 9]
    assert rejections(items) == [
        (3, "malformed_json"),
        (6, "malformed_json"),
        (8, "malformed_json"),
        (10, "malformed_json"),
    ]
    assert all(
        i.detail.startswith("Not valid JSON") for i in items if isinstance(i, RecordRejected)
    )


def test_a_ndjson_line_that_is_not_utf8_is_rejected_alone(tmp_path: Path) -> None:
    data = ndjson([message(1)]).encode() + b'{"traits": {"email": "caf\xe9@example.com"}}\n'
    data += ndjson([message(3)]).encode()
    items = read(write(tmp_path, "latin.ndjson", data))
    assert records(items) == [("person1@example.com", 1), ("person3@example.com", 3)]
    assert rejections(items) == [(2, "malformed_json")]


def test_a_ndjson_file_whose_first_line_is_broken_still_yields_the_others(tmp_path: Path) -> None:
    text = '{"type": "identify", oops\n' + ndjson([message(2), message(3)])
    items = read(write(tmp_path, "people.ndjson", text))
    assert records(items) == [("person2@example.com", 2), ("person3@example.com", 3)]
    assert rejections(items) == [(1, "malformed_json")]


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_a_broken_array_element_is_rejected_and_reading_resumes_at_the_next(
    tmp_path: Path, gzipped: bool
) -> None:
    elements = [json.dumps(message(n)) for n in range(1, 6)]
    elements[1] = '{"type": "identify", "traits": {"email": "x@example.com"}, BROKEN}'
    elements[3] = '{"type": "identify", "traits": {"email": "y@example.com"}'  # no closing brace
    text = "[\n  " + ",\n  ".join(elements) + "\n]\n"
    items = read(write(tmp_path, "list.json", text, gzipped=gzipped))
    assert records(items) == [
        ("person1@example.com", 2),
        ("person3@example.com", 4),
        ("person5@example.com", 6),
    ]
    assert rejections(items) == [(3, "malformed_json"), (5, "malformed_json")]


def test_a_broken_element_of_a_pretty_printed_array_is_rejected_once(tmp_path: Path) -> None:
    good = json.dumps([message(1)], indent=2)[:-2]  # without the closing "\n]"
    text = (
        good
        + ',\n  {\n    "type": "identify",\n    "traits": {"email": BAD}\n  },\n'
        + "  "
        + json.dumps(message(3))
        + "\n]\n"
    )
    items = read(write(tmp_path, "pretty.json", text))
    assert records(items) == [("person1@example.com", 2), ("person3@example.com", 16)]
    assert rejections(items) == [(12, "malformed_json")]
    (rejection,) = [i for i in items if isinstance(i, RecordRejected)]
    assert "line 14" in rejection.detail


def test_a_broken_element_inside_a_batch_envelope_is_rejected_alone(tmp_path: Path) -> None:
    text = (
        '{"batch": [\n'
        + json.dumps(message(1))
        + ",\n{broken,\n"
        + json.dumps(message(3))
        + '\n], "sentAt": "2026-01-01T00:00:00Z"}\n'
    )
    items = read(write(tmp_path, "batch.json", text))
    assert records(items) == [("person1@example.com", 2), ("person3@example.com", 4)]
    assert rejections(items) == [(3, "malformed_json")]


def test_an_unreadable_rest_of_a_one_line_array_is_rejected_once(tmp_path: Path) -> None:
    text = "[" + json.dumps(message(1)) + ', {"broken": }, ' + json.dumps(message(3)) + "]"
    items = read(write(tmp_path, "list.json", text))
    assert records(items) == [("person1@example.com", 1)]
    (rejection,) = [i for i in items if isinstance(i, RecordRejected)]
    assert (rejection.line, rejection.reason) == (1, "malformed_json")
    assert "rest of the file was skipped" in rejection.detail


def test_a_plain_json_array_cut_short_keeps_its_complete_elements(tmp_path: Path) -> None:
    text = "[\n" + ",\n".join(json.dumps(message(n)) for n in (1, 2, 3))
    items = read(write(tmp_path, "cut.json", text[: text.rfind("person3") + 3]))
    assert records(items) == [("person1@example.com", 2), ("person2@example.com", 3)]
    assert rejections(items) == [(4, "malformed_json")]


def test_text_after_the_end_of_a_json_document_is_rejected_and_later_records_read(
    tmp_path: Path,
) -> None:
    text = json.dumps([message(1)]) + "\nnot json at all\n" + json.dumps(message(3), indent=1)
    items = read(write(tmp_path, "tail.json", text))
    assert records(items) == [("person1@example.com", 1), ("person3@example.com", 3)]
    assert rejections(items) == [(2, "malformed_json")]


def test_an_over_long_line_comes_out_as_a_marker_without_being_kept(tmp_path: Path) -> None:
    data = b"short\n" + b"x" * (3 * CHUNK_BYTES) + b"\nafter\n"
    content = Content(io.BytesIO(data), source="long.ndjson")
    lines = [line for batch in line_batches(content, limit=CHUNK_BYTES) for line in batch]
    assert lines == [b"short", None, b"after"]


# -- files that cannot be read at all ---------------------------------------------------------


def test_a_missing_file_is_refused_with_a_sentence_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.ndjson"
    with pytest.raises(UnreadableFile, match=r"nowhere\.ndjson does not exist"):
        read(path)


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="is a folder"):
        read(tmp_path)


def test_a_binary_file_is_refused_as_not_text(tmp_path: Path) -> None:
    path = write(tmp_path, "photo.json", bytes(range(256)) * 64)
    with pytest.raises(UnreadableFile, match=r"photo\.json is not a text file"):
        read(path)


def test_a_spreadsheet_workbook_is_refused_with_advice(tmp_path: Path) -> None:
    path = write(tmp_path, "people.xlsx", b"PK\x03\x04" + secrets.token_bytes(2000))
    with pytest.raises(UnreadableFile, match="export the records as CSV"):
        read(path)


def test_text_in_no_supported_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="not identify JSON, NDJSON or a CSV"):
        read(write(tmp_path, "notes.txt", "Dear operator,\nhere are the customers.\n"))


def test_a_truncated_gzip_is_refused_naming_the_file(tmp_path: Path) -> None:
    data = gzip.compress(ndjson(message(n) for n in range(50)).encode())
    path = write(tmp_path, "people.ndjson.gz", data[: len(data) // 2])
    with pytest.raises(UnreadableFile, match=r"people\.ndjson\.gz .*truncated"):
        read(path)


def test_a_gzip_truncated_far_into_the_file_is_refused_after_earlier_records(
    tmp_path: Path,
) -> None:
    # Random tokens keep the gzip large, so the cut is met long after the first records.
    text = ndjson(
        message(n, traits={"email": f"p{n}@example.com", "token": secrets.token_hex(64)})
        for n in range(30_000)
    )
    data = gzip.compress(text.encode(), compresslevel=1)
    assert len(data) > 2 * CHUNK_BYTES
    path = write(tmp_path, "big.ndjson.gz", data[:-1000])
    seen: list[ReadItem] = []
    with pytest.raises(UnreadableFile, match=r"big\.ndjson\.gz ends in the middle"):
        seen.extend(read_identify_file(path, import_time=IMPORT_TIME))
    assert len(records(seen)) > 1000


def test_an_empty_file_yields_a_notice_and_no_records(tmp_path: Path) -> None:
    items = read(write(tmp_path, "empty.ndjson", "\n  \n"))
    assert records(items) == []
    assert rejections(items) == []
    assert notices(items) == [f"{tmp_path / 'empty.ndjson'} is empty: it holds no records."]


# -- CSV encodings and columns -----------------------------------------------------------------


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_a_cp1252_csv_is_read_with_a_notice(tmp_path: Path, gzipped: bool) -> None:
    text = "email;firstName;lastName\nzoe@example.com;Zoë;Dupré\nmarc@example.com;Marc;Œuvre\n"
    items = read(write(tmp_path, "people.csv", text.encode("cp1252"), gzipped=gzipped))
    people = [i for i in items if isinstance(i, IdentifyRecord)]
    assert [(p.first_name, p.last_name) for p in people] == [("Zoë", "Dupré"), ("Marc", "Œuvre")]
    (notice,) = notices(items)
    assert "not UTF-8" in notice
    assert "Windows-1252" in notice
    assert items.index(next(i for i in items if isinstance(i, ReadNotice))) == 0


def test_a_utf8_csv_with_a_byte_order_mark_is_read_without_a_notice(tmp_path: Path) -> None:
    text = "\ufeffEmail,Name\nzoe@example.com,Zoë\n"
    items = read(write(tmp_path, "people.csv", text.encode("utf-8")))
    people = [i for i in items if isinstance(i, IdentifyRecord)]
    assert [(p.email, p.name) for p in people] == [("zoe@example.com", "Zoë")]
    assert notices(items) == []


def test_a_csv_without_an_email_column_is_refused_naming_the_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "people.csv", "name,phone,created_at\nAda,123,2024-01-01\n")
    with pytest.raises(UnreadableFile) as refused:
        read(path)
    message = str(refused.value)
    assert "people.csv has no email column" in message
    assert "'name', 'phone', 'created_at'" in message


def test_csv_rows_with_quoted_newlines_keep_the_line_where_they_start(tmp_path: Path) -> None:
    text = 'email,name\na@example.com,"Two\nlines"\nnobody,x\nb@example.com,B\n'
    items = read(write(tmp_path, "people.csv", text))
    assert records(items) == [("a@example.com", 2), ("b@example.com", 5)]
    assert rejections(items) == [(4, "invalid_email")]


def test_blank_csv_rows_are_skipped(tmp_path: Path) -> None:
    items = read(write(tmp_path, "people.csv", "email\n\na@example.com\n,\n"))
    assert records(items) == [("a@example.com", 3)]
    assert rejections(items) == []


def test_a_utf16_file_is_read(tmp_path: Path) -> None:
    items = read(write(tmp_path, "people.ndjson", ndjson([message(1)]).encode("utf-16")))
    assert records(items) == [("person1@example.com", 1)]


# -- progress ----------------------------------------------------------------------------------


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_progress_counts_the_bytes_on_disk_and_ends_at_the_file_size(
    tmp_path: Path, gzipped: bool
) -> None:
    text = ndjson(
        message(n, traits={"email": f"p{n}@example.com", "token": secrets.token_hex(64)})
        for n in range(20_000)
    )
    path = write(tmp_path, "people.ndjson", text, gzipped=gzipped)
    size = path.stat().st_size
    calls: list[tuple[int, int]] = []
    read(path, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (size, size)
    assert all(total == size for _, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert 1 < len(calls) <= size // PROGRESS_STEP_BYTES + 2


# -- streams -----------------------------------------------------------------------------------


class LazyNdjson:
    """A file-like object making NDJSON on demand: only the block being read exists."""

    def __init__(self, count: int, padding: int) -> None:
        self.remaining = count
        self.made = 0
        self.template = (
            '{"messageId": "m%d", "traits": {"email": "p%d@example.com", "notes": "'
            + "x" * padding
            + '"}}\n'
        )
        self.block = b""
        self.offset = 0
        self.bytes_made = 0

    def read(self, size: int = -1) -> bytes:
        if self.offset >= len(self.block):
            if not self.remaining:
                return b""
            first, count = self.made + 1, min(self.remaining, 100)
            self.block = "".join(
                self.template % (n, n) for n in range(first, first + count)
            ).encode()
            self.made += count
            self.remaining -= count
            self.offset = 0
        data = self.block[self.offset : self.offset + size]
        self.offset += len(data)
        self.bytes_made += len(data)
        return data


def test_a_2gb_class_stream_is_read_with_flat_memory() -> None:
    declared = 2 * 1024**3
    stream = LazyNdjson(count=30_000, padding=10_000)  # about 300 MB, made as it is read
    progress: list[tuple[int, int]] = []
    items = read_identify_stream(
        stream,
        source="feed",
        import_time=IMPORT_TIME,
        total_bytes=declared,
        progress=lambda done, total: progress.append((done, total)),
    )
    count = 0
    last_line = 0
    tracemalloc.start()
    try:
        for item in items:
            assert isinstance(item, IdentifyRecord)
            count += 1
            last_line = item.line or 0
            if count == 3_000:
                _, early_peak = tracemalloc.get_traced_memory()
                tracemalloc.reset_peak()
        _, late_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (count, last_line) == (30_000, 30_000)
    assert stream.bytes_made > 300_000_000
    assert late_peak < 50 * 1024**2
    assert late_peak < early_peak + 5 * 1024**2  # flat: the last 90% needs no more than the first
    assert progress[-1] == (stream.bytes_made, declared)


def test_a_stream_without_a_known_size_reports_its_total_at_the_end() -> None:
    calls: list[tuple[int, int]] = []
    data = ndjson([message(1), message(2)]).encode()
    items = list(
        read_identify_stream(
            io.BytesIO(data),
            source="https://example.com/feed",
            import_time=IMPORT_TIME,
            progress=lambda done, total: calls.append((done, total)),
        )
    )
    assert records(items) == [("person1@example.com", 1), ("person2@example.com", 2)]
    assert calls[-1] == (len(data), len(data))


def test_a_stream_read_error_becomes_a_sentence_naming_the_source() -> None:
    class Broken:
        def __init__(self) -> None:
            self.sent = False

        def read(self, size: int = -1) -> bytes:
            if not self.sent:
                self.sent = True
                return ndjson([message(1)]).encode()
            raise ConnectionResetError(104, "Connection reset by peer")

    with pytest.raises(UnreadableFile, match="feed could not be read: Connection reset by peer"):
        list(read_identify_stream(Broken(), source="feed", import_time=IMPORT_TIME))
