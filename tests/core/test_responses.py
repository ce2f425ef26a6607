"""Responses: checking, reading export files, deduplicating, and what they do to customers."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from callexa_desktop.core.activity import RunKind, recent_runs
from callexa_desktop.core.errors import UnreadableFile
from callexa_desktop.core.models import Customer, Rejection, Response, Survey, SurveyStatus
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.responses import (
    ResponseRecord,
    ResponseRejected,
    import_response_files,
    normalise_response,
    read_response_file,
    record_responses,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def reply(**fields: Any) -> dict[str, Any]:
    base = {"email": "ada@example.com", "rating": 9, "answered_at": "2026-11-01T08:00:00Z"}
    return {**base, **fields}


def record(email: str = "ada@example.com", rating: int = 9, **fields: Any) -> ResponseRecord:
    result = normalise_response(reply(email=email, rating=rating, **fields), source="t", line=1)
    assert isinstance(result, ResponseRecord)
    return result


def customer(session: Session, email: str) -> Customer:
    found = session.exec(select(Customer).where(Customer.email == email)).one()
    return found


# -- checking one response -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rating", "reason"),
    [
        ("7.5", "invalid_rating"),
        (7.5, "invalid_rating"),
        (7.0, "invalid_rating"),
        (11, "rating_out_of_range"),
        ("11", "rating_out_of_range"),
        (-1, "rating_out_of_range"),
        ("-1", "invalid_rating"),
        ("", "missing_rating"),
        (None, "missing_rating"),
        (True, "invalid_rating"),
        ("nine", "invalid_rating"),
    ],
)
def test_a_rating_that_is_not_a_whole_number_from_0_to_10_is_rejected_with_a_reason(
    rating: Any, reason: str
) -> None:
    result = normalise_response(reply(rating=rating), source="export.csv", line=7)
    assert isinstance(result, ResponseRejected)
    assert (result.reason, result.source, result.line) == (reason, "export.csv", 7)


@pytest.mark.parametrize("rating", [0, 10, "0", " 10 ", "+5"])
def test_whole_ratings_from_0_to_10_are_accepted_as_int(rating: Any) -> None:
    result = normalise_response(reply(rating=rating), source="s", line=None)
    assert isinstance(result, ResponseRecord)
    assert type(result.rating) is int
    assert result.rating == int(str(rating).strip())


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"email": ""}, "missing_email"),
        ({"email": "not-an-address"}, "invalid_email"),
        ({"answered_at": ""}, "missing_answered_at"),
        ({"answered_at": "yesterday"}, "invalid_answered_at"),
        ({"sent_at": "soon"}, "invalid_sent_at"),
    ],
)
def test_a_response_without_usable_email_or_times_is_rejected(
    fields: dict[str, Any], reason: str
) -> None:
    result = normalise_response(reply(**fields), source="s", line=3)
    assert isinstance(result, ResponseRejected)
    assert result.reason == reason


def test_names_and_times_are_normalised() -> None:
    result = normalise_response(
        {
            "E-mail": " Ada@Example.COM ",
            "Score": "8",
            "Feedback": None,
            "answeredAt": "2026-11-01T09:00:00+01:00",
            "sent_at": "2026-10-31 12:00:00",
        },
        source="s",
        line=2,
    )
    assert isinstance(result, ResponseRecord)
    assert result.email == "ada@example.com"
    assert result.comment == ""
    assert result.answered_at == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert result.sent_at == datetime(2026, 10, 31, 12, 0, tzinfo=UTC)


def test_the_dedupe_key_is_callexas_id_else_a_hash_of_email_rating_and_time() -> None:
    assert record(id="rsp_1").dedupe_key == "callexa:rsp_1"
    hashed = record().dedupe_key
    assert hashed.startswith("sha256:")
    assert record(comment="different comment").dedupe_key == hashed
    assert record(rating=8).dedupe_key != hashed
    assert record(answered_at="2026-11-01T08:00:01Z").dedupe_key != hashed


# -- reading files ---------------------------------------------------------------------------


def test_a_csv_export_is_read_with_line_numbers_and_reasons(tmp_path: Path) -> None:
    path = tmp_path / "responses.csv"
    path.write_text(
        "email,rating,comment,answered_at,sent_at\n"
        "ada@example.com,9,Great,2026-11-01T08:00:00Z,2026-10-30T08:00:00Z\n"
        "\n"
        'bob@example.com,7.5,"multi\nline",2026-11-01T08:00:00Z,\n'
        "cy@example.com,11,,2026-11-01T08:00:00Z,\n"
        "di@example.com,,,2026-11-01T08:00:00Z,\n"
        'ed@example.com,10,"said ""hi""",2026-11-02T08:00:00Z,\n',
        encoding="utf-8",
    )
    items = list(read_response_file(path))
    summary = [(type(i).__name__, i.line, getattr(i, "reason", None)) for i in items]
    assert summary == [
        ("ResponseRecord", 2, None),
        ("ResponseRejected", 4, "invalid_rating"),
        ("ResponseRejected", 6, "rating_out_of_range"),
        ("ResponseRejected", 7, "missing_rating"),
        ("ResponseRecord", 8, None),
    ]
    first, last = items[0], items[-1]
    assert isinstance(first, ResponseRecord)
    assert isinstance(last, ResponseRecord)
    assert first.sent_at == datetime(2026, 10, 30, 8, 0, tzinfo=UTC)
    assert last.comment == 'said "hi"'
    assert all(i.source == "responses.csv" for i in items)


def test_a_json_array_export_is_streamed_with_the_line_each_response_starts_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "responses.json"
    path.write_text(
        "[\n"
        '  {"email": "ada@example.com", "rating": 9, "answered_at": "2026-11-01T08:00:00Z"},\n'
        "  {\n"
        '    "email": "bob@example.com",\n'
        '    "rating": "7.5",\n'
        '    "answered_at": "2026-11-01T08:00:00Z"\n'
        "  },\n"
        '  {"id": "rsp_9", "email": "cy@example.com", "rating": 0,'
        ' "answered_at": "2026-11-03T08:00:00Z", "comment": "Meh"}\n'
        "]\n",
        encoding="utf-8",
    )
    items = list(read_response_file(path))
    assert [(type(i).__name__, i.line) for i in items] == [
        ("ResponseRecord", 2),
        ("ResponseRejected", 3),
        ("ResponseRecord", 8),
    ]
    last = items[2]
    assert isinstance(last, ResponseRecord)
    assert (last.response_id, last.rating, last.comment) == ("rsp_9", 0, "Meh")


def test_a_wrapped_export_and_ndjson_and_gzip_are_read(tmp_path: Path) -> None:
    one = {"email": "ada@example.com", "rating": 9, "answered_at": "2026-11-01T08:00:00Z"}
    two = {"email": "bob@example.com", "rating": 3, "answered_at": "2026-11-02T08:00:00Z"}
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"count": 2, "responses": [one, two]}, indent=1))
    ndjson = tmp_path / "lines.ndjson"
    ndjson.write_text(f"{json.dumps(one)}\n{{broken\n{json.dumps(two)}\n")
    zipped = tmp_path / "wrapped.json.gz"
    zipped.write_bytes(gzip.compress(wrapped.read_bytes()))

    def emails(path: Path) -> list[str | None]:
        return [getattr(i, "email", None) for i in read_response_file(path)]

    assert emails(wrapped) == ["ada@example.com", "bob@example.com"]
    assert emails(zipped) == ["ada@example.com", "bob@example.com"]
    items = list(read_response_file(ndjson))
    assert [(type(i).__name__, i.line) for i in items] == [
        ("ResponseRecord", 1),
        ("ResponseRejected", 2),
        ("ResponseRecord", 3),
    ]
    assert isinstance(items[1], ResponseRejected)
    assert items[1].reason == "malformed_row"


def test_a_json_array_longer_than_one_read_chunk_is_read_completely(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    rows = [
        {"email": f"c{n}@example.com", "rating": n % 11, "answered_at": "2026-11-01T08:00:00Z"}
        for n in range(6000)
    ]
    path.write_text("[\n" + ",\n".join(json.dumps(r) for r in rows) + "\n]\n")
    items = list(read_response_file(path))
    assert len(items) == 6000
    assert all(isinstance(i, ResponseRecord) for i in items)
    assert [i.line for i in items[:3]] == [2, 3, 4]
    assert items[-1].line == 6001


def test_a_truncated_json_array_keeps_the_responses_before_the_damage(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text(
        '[{"email": "ada@example.com", "rating": 9, "answered_at": "2026-11-01T08:00:00Z"},\n'
        ' {"email": "bob@exa'
    )
    items = list(read_response_file(path))
    assert isinstance(items[0], ResponseRecord)
    assert isinstance(items[1], ResponseRejected)
    assert items[1].line == 2


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        ("email,rating\nadä@x.com,9\n".encode("latin-1"), "not UTF-8"),
        (gzip.compress(b'[{"email": "a@b.c"}]')[:-12], "could not be read to the end"),
    ],
)
def test_an_unreadable_file_is_refused_with_one_sentence_naming_it(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "export.bin"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=expected) as caught:
        list(read_response_file(path))
    assert "export.bin" in str(caught.value)


def test_a_missing_file_is_refused_with_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match=r"nothing-here\.csv could not be opened"):
        list(read_response_file(tmp_path / "nothing-here.csv"))


# -- recording -------------------------------------------------------------------------------


def test_a_response_for_an_unknown_email_creates_the_customer(profile: Profile) -> None:
    with profile.database.session() as session:
        summary = record_responses(session, [record()], source="t", now=NOW)
    assert (summary.recorded, summary.customers_created) == (1, 1)
    with profile.database.session() as session:
        ada = customer(session, "ada@example.com")
        assert (ada.nps_rating, ada.nps_comment) == (9, "")
        assert ada.user_id is None
        assert ada.anonymous_id is None


def test_the_same_response_twice_is_stored_once(profile: Profile) -> None:
    with profile.database.session() as session:
        first = record_responses(session, [record(), record()], source="t", now=NOW)
        again = record_responses(session, [record(), record(id="rsp_1")], source="t", now=NOW)
        again_by_id = record_responses(session, [record(id="rsp_1", rating=3)], source="t", now=NOW)
    assert (first.recorded, first.duplicates) == (1, 1)
    assert (again.recorded, again.duplicates) == (1, 1)
    assert (again_by_id.recorded, again_by_id.duplicates) == (0, 1)
    with profile.database.session() as session:
        assert len(session.exec(select(Response)).all()) == 2


def test_the_latest_response_by_reply_time_wins_even_when_it_arrives_first(
    profile: Profile,
) -> None:
    newer = record(rating=3, comment="worse now", answered_at="2026-11-20T08:00:00Z")
    older = record(rating=10, comment="loved it", answered_at="2026-11-01T08:00:00Z")
    with profile.database.session() as session:
        record_responses(session, [newer], source="t", now=NOW)
        record_responses(session, [older], source="t", now=NOW)
    with profile.database.session() as session:
        ada = customer(session, "ada@example.com")
        assert (ada.nps_rating, ada.nps_comment) == (3, "worse now")
        assert ada.nps_date == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def test_a_response_is_survey_history_for_the_interval_rule(profile: Profile) -> None:
    with profile.database.session() as session:
        record_responses(
            session,
            [
                record(answered_at="2026-11-05T08:00:00Z", sent_at="2026-11-03T08:00:00Z"),
                record(email="bob@example.com", answered_at="2026-11-06T08:00:00Z"),
                record(answered_at="2026-10-01T08:00:00Z", rating=2),
            ],
            source="t",
            now=NOW,
        )
    with profile.database.session() as session:
        # sent_at when known, else answered_at; an older reply never moves it back.
        ada = customer(session, "ada@example.com")
        assert ada.last_surveyed_at == datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
        bob = customer(session, "bob@example.com")
        assert bob.last_surveyed_at == datetime(2026, 11, 6, 8, 0, tzinfo=UTC)


def test_a_response_is_linked_to_the_survey_it_answers(profile: Profile) -> None:
    sent = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    with profile.database.session() as session:
        ada = Customer(email="ada@example.com")
        session.add(ada)
        session.flush()
        assert ada.id is not None
        earlier = Survey(
            key="s-early",
            customer_id=ada.id,
            status=SurveyStatus.SENT,
            send_at=sent,
            planned_at=sent,
            sent_at=sent - timedelta(days=60),
        )
        latest = Survey(
            key="s-late",
            customer_id=ada.id,
            status=SurveyStatus.SENT,
            send_at=sent,
            planned_at=sent,
            sent_at=sent,
        )
        session.add_all([earlier, latest])
        session.flush()
        record_responses(
            session,
            [
                record(answered_at="2026-11-03T08:00:00Z"),
                record(answered_at="2026-10-03T08:00:00Z", survey_key="s-early"),
                record(answered_at="2026-08-01T08:00:00Z", rating=1),
            ],
            source="t",
            now=NOW,
        )
        links = [r.survey_id for r in session.exec(select(Response).order_by(Response.id))]
        assert links == [latest.id, earlier.id, None]


def test_importing_files_records_good_rows_and_keeps_rejections_with_their_place(
    profile: Profile, tmp_path: Path
) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        "email,rating,comment,answered_at\n"
        "ada@example.com,9,Great,2026-11-01T08:00:00Z\n"
        "bob@example.com,7.5,,2026-11-01T08:00:00Z\n"
    )
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\x00\x01\x02")
    summary = import_response_files(profile, [good, broken])
    assert (summary.read, summary.recorded, summary.rejected) == (2, 1, 1)
    assert [name for name, _ in summary.refused_files] == ["broken.csv"]
    assert "binary" in summary.refused_files[0][1]
    with profile.database.session() as session:
        rejection = session.exec(select(Rejection)).one()
        assert (rejection.source, rejection.line, rejection.reason) == (
            "good.csv",
            3,
            "invalid_rating",
        )
        run = recent_runs(session, kind=RunKind.RESPONSES)[0]
        assert run.status == "ok"
        assert json.loads(run.summary)["recorded"] == 1
    again = import_response_files(profile, [good])
    assert (again.recorded, again.duplicates) == (0, 1)
