"""Normalising one identify message (or CSV row) into a record, or rejecting it with a reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from callexa_desktop.core.identify import (
    CsvColumns,
    email_problem,
    message_key,
    normalise_csv_row,
    normalise_identify,
    parse_moment,
)
from callexa_desktop.core.records import IdentifyRecord, RecordRejected

IMPORT_TIME = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def normalise(message: Any) -> IdentifyRecord | RecordRejected:
    return normalise_identify(message, source="people.ndjson", line=7, import_time=IMPORT_TIME)


def accepted(message: Any) -> IdentifyRecord:
    result = normalise(message)
    assert isinstance(result, IdentifyRecord), result
    return result


def rejected(message: Any) -> RecordRejected:
    result = normalise(message)
    assert isinstance(result, RecordRejected), result
    return result


def identify(**fields: Any) -> dict[str, Any]:
    traits = {"email": "ada@example.com"}
    traits.update(fields.pop("traits", {}))
    return {"type": "identify", "traits": traits, **fields}


def test_a_full_identify_keeps_names_ids_and_times_with_a_normalised_email() -> None:
    record = accepted(
        {
            "type": "identify",
            "messageId": "msg-1",
            "userId": "u-42",
            "anonymousId": "anon-9",
            "timestamp": "2026-03-01T10:15:00+01:00",
            "traits": {
                "email": "  Ada.Lovelace@Example.COM ",
                "createdAt": "2026-02-27",
                "firstName": "Ada",
                "lastName": "Lovelace",
                "name": "Ada Lovelace",
                "gender": "female",
            },
        }
    )
    assert record == IdentifyRecord(
        email="ada.lovelace@example.com",
        event_at=datetime(2026, 3, 1, 9, 15, tzinfo=UTC),
        created_at=datetime(2026, 2, 27, tzinfo=UTC),
        message_key="msg-1",
        source="people.ndjson",
        line=7,
        user_id="u-42",
        anonymous_id="anon-9",
        first_name="Ada",
        last_name="Lovelace",
        name="Ada Lovelace",
        gender="female",
    )


def test_email_falls_back_to_context_traits() -> None:
    message = {"type": "identify", "traits": {}, "context": {"traits": {"email": "Bo@Example.com"}}}
    assert accepted(message).email == "bo@example.com"


@pytest.mark.parametrize(
    "message",
    [
        {"type": "identify", "traits": {"name": "No Email"}},
        {"type": "identify", "traits": {"email": "   "}},
        {"type": "identify", "traits": {"email": None}},
        {"type": "identify"},
        {"type": "identify", "traits": "not an object"},
    ],
)
def test_a_record_without_an_email_is_rejected_as_missing_email(message: dict[str, Any]) -> None:
    rejection = rejected(message)
    assert (rejection.reason, rejection.line, rejection.source) == (
        "missing_email",
        7,
        "people.ndjson",
    )


@pytest.mark.parametrize(
    "email", ["not-an-email", "two@@example.com", "ada@localhost", "ada@example..com", "a b@c.com"]
)
def test_a_malformed_email_is_rejected_with_the_address_in_the_detail(email: str) -> None:
    rejection = rejected(identify(traits={"email": email}))
    assert rejection.reason == "invalid_email"
    assert email in rejection.detail


def test_an_email_that_is_not_text_is_invalid() -> None:
    assert rejected(identify(traits={"email": 42})).reason == "invalid_email"


@pytest.mark.parametrize(
    "address",
    [
        "ada@example.com",
        "o'neil+news@mail.example.co.uk",
        "ada@münchen.de",
        "josé@example.com",
        "ada@xn--80ak6aa92e.com",
        "ada@example.test",  # special-use domain: refused by the library
        "ada@example.123",
        "ada@-example.com",
        "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".com",
        "a" * 250 + "@b.co",
        '"quoted name"@example.com',
        "Ada <ada@example.com>",
    ],
)
def test_the_email_shortcut_agrees_with_email_validator_on_edge_cases(address: str) -> None:
    assert (email_problem(address.lower()) is None) == _library_accepts(address.lower())


@settings(max_examples=300, deadline=None)
@given(
    local=st.text(alphabet="abz09.-_+'\"é ", min_size=0, max_size=70),
    domain=st.text(alphabet="abz09.-é", min_size=0, max_size=70),
    tld=st.sampled_from(["com", "de", "test", "1", "", "xn--p1ai"]),
)
def test_the_email_shortcut_agrees_with_email_validator_everywhere(
    local: str, domain: str, tld: str
) -> None:
    address = f"{local}@{domain}.{tld}" if tld else f"{local}@{domain}"
    assert (email_problem(address) is None) == _library_accepts(address)


def _library_accepts(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-05", datetime(2024, 1, 5, tzinfo=UTC)),
        ("2024-01-05T10:30:00", datetime(2024, 1, 5, 10, 30, tzinfo=UTC)),
        ("2024-01-05 10:30", datetime(2024, 1, 5, 10, 30, tzinfo=UTC)),
        ("2024-01-05T10:30:00Z", datetime(2024, 1, 5, 10, 30, tzinfo=UTC)),
        ("2024-01-05T10:30:00.250+02:00", datetime(2024, 1, 5, 8, 30, 0, 250000, tzinfo=UTC)),
        (" 2024-01-05T10:30:00-05:00 ", datetime(2024, 1, 5, 15, 30, tzinfo=UTC)),
        (1704450600, datetime(2024, 1, 5, 10, 30, tzinfo=UTC)),
        (1704450600000, datetime(2024, 1, 5, 10, 30, tzinfo=UTC)),
        (1704450600.5, datetime(2024, 1, 5, 10, 30, 0, 500000, tzinfo=UTC)),
        ("1704450600", datetime(2024, 1, 5, 10, 30, tzinfo=UTC)),
        ("1704450600000", datetime(2024, 1, 5, 10, 30, tzinfo=UTC)),
        ("1704450600123", datetime(2024, 1, 5, 10, 30, 0, 123000, tzinfo=UTC)),
    ],
)
def test_created_at_is_read_from_every_accepted_form(value: Any, expected: datetime) -> None:
    record = accepted(identify(traits={"createdAt": value}))
    assert record.created_at == expected
    assert record.created_at.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    ["05/01/2024", "yesterday", "2024-13-01", "2024-01-05T25:00", True, [], {"at": 1}, "1e9"],
)
def test_an_unreadable_created_at_rejects_the_record(value: Any) -> None:
    rejection = rejected(identify(traits={"createdAt": value}))
    assert rejection.reason == "invalid_created_at"
    assert "createdAt" in rejection.detail


@pytest.mark.parametrize("value", [None, ""])
def test_an_empty_created_at_counts_as_absent(value: Any) -> None:
    assert accepted(identify(traits={"createdAt": value})).created_at is None


def test_created_at_may_be_spelt_created_at() -> None:
    record = accepted(identify(traits={"created_at": "2024-01-05"}))
    assert record.created_at == datetime(2024, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {
                "timestamp": "2026-01-01T00:00:00Z",
                "originalTimestamp": "2026-01-02T00:00:00Z",
                "receivedAt": "2026-01-03T00:00:00Z",
                "sentAt": "2026-01-04T00:00:00Z",
            },
            datetime(2026, 1, 1, tzinfo=UTC),
        ),
        (
            {"originalTimestamp": "2026-01-02T00:00:00Z", "sentAt": "2026-01-04T00:00:00Z"},
            datetime(2026, 1, 2, tzinfo=UTC),
        ),
        (
            {"timestamp": "", "receivedAt": "2026-01-03T00:00:00Z"},
            datetime(2026, 1, 3, tzinfo=UTC),
        ),
        ({"sentAt": "2026-01-04T00:00:00Z"}, datetime(2026, 1, 4, tzinfo=UTC)),
        ({}, IMPORT_TIME),
    ],
)
def test_event_time_comes_from_the_first_time_field_present(
    fields: dict[str, Any], expected: datetime
) -> None:
    assert accepted(identify(**fields)).event_at == expected


def test_an_unreadable_event_time_rejects_instead_of_falling_back() -> None:
    rejection = rejected(identify(timestamp="last tuesday", sentAt="2026-01-04T00:00:00Z"))
    assert rejection.reason == "invalid_timestamp"
    assert "timestamp" in rejection.detail


@pytest.mark.parametrize(
    ("message", "detail_part"),
    [
        ({"type": "track", "event": "Signed Up"}, "'track'"),
        ({"type": "page"}, "'page'"),
        ([1, 2], "a list"),
        ("identify", "text"),
        (12, "a number"),
        (None, "null"),
    ],
)
def test_anything_but_an_identify_object_is_not_identify(message: Any, detail_part: str) -> None:
    rejection = rejected(message)
    assert rejection.reason == "not_identify"
    assert detail_part in rejection.detail


def test_a_message_without_a_type_or_with_a_capitalised_one_counts_as_identify() -> None:
    assert accepted({"traits": {"email": "a@example.com"}}).email == "a@example.com"
    assert accepted({"type": "Identify", "traits": {"email": "a@example.com"}})


def test_ids_are_text_numbers_become_text_and_blanks_are_none() -> None:
    record = accepted(identify(userId=12345, anonymousId="  "))
    assert (record.user_id, record.anonymous_id) == ("12345", None)
    record = accepted(identify(userId="", anonymousId=" anon-1 "))
    assert (record.user_id, record.anonymous_id) == (None, "anon-1")


def test_snake_case_name_traits_are_understood() -> None:
    record = accepted(identify(traits={"first_name": "Ada", "last_name": "Lovelace"}))
    assert (record.first_name, record.last_name) == ("Ada", "Lovelace")


def test_the_message_id_is_the_duplicate_key_when_present() -> None:
    assert accepted(identify(messageId="abc-1")).message_key == "abc-1"


def test_without_a_message_id_the_key_is_a_content_hash_independent_of_key_order() -> None:
    one = {"type": "identify", "userId": "u1", "traits": {"email": "a@example.com", "name": "A"}}
    same = {"traits": {"name": "A", "email": "a@example.com"}, "userId": "u1", "type": "identify"}
    other = {"type": "identify", "userId": "u2", "traits": {"email": "a@example.com", "name": "A"}}
    key = accepted(one).message_key
    assert key.startswith("sha256:")
    assert len(key) == len("sha256:") + 64
    assert accepted(same).message_key == key
    assert accepted(other).message_key != key


def test_a_blank_message_id_is_replaced_by_the_content_hash() -> None:
    assert message_key(identify(messageId="  ")).startswith("sha256:")


def test_parse_moment_gives_none_for_nonsense() -> None:
    assert parse_moment("not a time") is None
    assert parse_moment(float("nan")) is None
    assert parse_moment(10**30) is None


def test_csv_headers_match_case_insensitively_with_underscores_or_spaces() -> None:
    columns = CsvColumns.from_header(
        ["EMAIL", "First_Name", "last name", "created_at", "User Id", "anonymousId", "plan"]
    )
    assert columns.has_email
    assert columns.fields == (
        "traits.email",
        "traits.firstName",
        "traits.lastName",
        "traits.createdAt",
        "userId",
        "anonymousId",
        None,
    )


def test_a_csv_row_becomes_a_record_with_its_line() -> None:
    columns = CsvColumns.from_header(["email", "createdAt", "name", "userId", "timestamp"])
    record = normalise_csv_row(
        ["Ada@Example.com", "1704450600", "Ada", "u-1", "2026-01-01T00:00:00Z"],
        columns,
        source="people.csv",
        line=3,
        import_time=IMPORT_TIME,
    )
    assert isinstance(record, IdentifyRecord)
    assert (record.email, record.created_at, record.name, record.user_id, record.line) == (
        "ada@example.com",
        datetime(2024, 1, 5, 10, 30, tzinfo=UTC),
        "Ada",
        "u-1",
        3,
    )
    assert record.event_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_csv_rows_differing_only_in_an_extra_column_have_different_keys() -> None:
    columns = CsvColumns.from_header(["email", "plan"])

    def key(cells: list[str]) -> str:
        row = normalise_csv_row(cells, columns, source="p.csv", line=2, import_time=IMPORT_TIME)
        assert isinstance(row, IdentifyRecord)
        return row.message_key

    assert key(["a@example.com", "pro"]) != key(["a@example.com", "free"])
    assert key(["a@example.com", "pro"]) == key(["a@example.com", "pro"])


def test_a_short_csv_row_leaves_missing_cells_absent() -> None:
    columns = CsvColumns.from_header(["email", "createdAt", "name"])
    record = normalise_csv_row(
        ["a@example.com"], columns, source="p.csv", line=2, import_time=IMPORT_TIME
    )
    assert isinstance(record, IdentifyRecord)
    assert (record.created_at, record.name) == (None, None)


def test_a_csv_row_with_a_bad_email_is_rejected_with_its_line() -> None:
    columns = CsvColumns.from_header(["email"])
    rejection = normalise_csv_row(
        ["nobody"], columns, source="p.csv", line=9, import_time=IMPORT_TIME
    )
    assert isinstance(rejection, RecordRejected)
    assert (rejection.reason, rejection.line, rejection.source) == ("invalid_email", 9, "p.csv")
