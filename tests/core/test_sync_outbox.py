"""The sync-back outbox: which identify each customer needs, its messageId, and its size."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, select

from callexa_desktop.core import sync_outbox
from callexa_desktop.core.models import Customer, Response, SyncOutbox
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.responses import ResponseRecord, normalise_response, record_responses
from callexa_desktop.core.sync_outbox import (
    MESSAGE_BUDGET_BYTES,
    MESSAGE_ID_NAMESPACE,
    TRUNCATION_MARK,
    OutboxEntry,
    OutboxStatus,
    encode_identify,
    identify_message,
    mark_delivered,
    mark_rejected,
    message_id_for,
    outbox_counts,
    pending_counts,
    pending_entries,
    pending_identifies,
    pending_identify_pages,
    refresh_outbox,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def response(email: str, rating: int, answered_at: str, comment: str = "") -> ResponseRecord:
    fields = {"email": email, "rating": rating, "answered_at": answered_at, "comment": comment}
    result = normalise_response(fields, source="t", line=None)
    assert isinstance(result, ResponseRecord)
    return result


def store(session: Session, *records: ResponseRecord, user_id: str | None = "u") -> None:
    record_responses(session, records, source="t", now=NOW)
    for record in records:
        customer = session.exec(select(Customer).where(Customer.email == record.email)).one()
        if customer.user_id is None and user_id is not None:
            customer.user_id = f"{user_id}-{record.email.split('@')[0]}"
            session.add(customer)
    session.flush()


def rows(session: Session) -> dict[str, SyncOutbox]:
    found: dict[str, SyncOutbox] = {}
    for row in session.exec(select(SyncOutbox)):
        session.refresh(row)
        customer = session.get(Customer, row.customer_id)
        assert customer is not None
        found[customer.email] = row
    return found


def entry(**fields: Any) -> OutboxEntry:
    base: dict[str, Any] = {
        "customer_id": 1,
        "email": "ada@example.com",
        "user_id": "u-1",
        "anonymous_id": None,
        "message_id": "m-1",
        "rating": 9,
        "comment": "",
        "answered_at": datetime(2026, 11, 1, 8, 0, tzinfo=UTC),
    }
    return OutboxEntry(**{**base, **fields})


def decoded(entry_: OutboxEntry) -> dict[str, Any]:
    encoded = encode_identify(entry_)
    assert encoded is not None
    message: dict[str, Any] = json.loads(encoded.body)
    return message


def test_each_customer_gets_one_pending_row_for_their_latest_response(profile: Profile) -> None:
    with profile.database.session() as session:
        store(
            session,
            response("ada@example.com", 3, "2026-11-01T08:00:00Z"),
            response("ada@example.com", 8, "2026-11-05T08:00:00Z", "better"),
            response("bob@example.com", 10, "2026-11-02T08:00:00Z"),
        )
        entries = {e.email: e for e in pending_entries(session)}
        assert refresh_outbox(session, NOW) == 0
    assert (entries["ada@example.com"].rating, entries["ada@example.com"].comment) == (8, "better")
    assert entries["bob@example.com"].rating == 10


def test_recording_a_response_queues_its_identify_in_the_same_transaction(
    profile: Profile,
) -> None:
    with profile.database.session() as session:
        store(session, response("ada@example.com", 9, "2026-11-01T08:00:00Z"))
        assert [e.rating for e in pending_entries(session)] == [9]
        session.rollback()
    with profile.database.session() as session:
        assert session.exec(select(SyncOutbox)).all() == []
        assert session.exec(select(Response)).all() == []


def test_a_response_stored_some_other_way_is_caught_up_by_a_full_refresh(
    profile: Profile,
) -> None:
    with profile.database.session() as session:
        store(session, response("ada@example.com", 9, "2026-11-01T08:00:00Z"))
        [first] = list(pending_entries(session))
        session.add(
            Response(
                dedupe_key="callexa:direct",
                customer_id=first.customer_id,
                rating=4,
                answered_at=datetime(2026, 11, 2, tzinfo=UTC),
                received_at=NOW,
            )
        )
        session.flush()
        assert refresh_outbox(session, NOW) == 1
        [again] = list(pending_entries(session))
    assert again.rating == 4
    assert again.message_id == message_id_for("callexa:direct", "ada@example.com")


def test_refreshing_again_with_nothing_new_changes_nothing(profile: Profile) -> None:
    with profile.database.session() as session:
        store(session, response("ada@example.com", 9, "2026-11-01T08:00:00Z"))
        refresh_outbox(session, NOW)
        [only] = list(pending_entries(session))
        mark_delivered(session, [(only.customer_id, only.message_id)], NOW)
        assert refresh_outbox(session, NOW) == 0
        assert rows(session)["ada@example.com"].status == OutboxStatus.DELIVERED


def test_a_newer_response_replaces_the_message_and_makes_the_customer_pending_again(
    profile: Profile,
) -> None:
    with profile.database.session() as session:
        store(
            session,
            response("ada@example.com", 9, "2026-11-01T08:00:00Z"),
            response("bob@example.com", 7, "2026-11-01T08:00:00Z"),
        )
        refresh_outbox(session, NOW)
        entries = list(pending_entries(session))
        delivered = {e.email: e.message_id for e in entries}
        assert mark_delivered(session, [(e.customer_id, e.message_id) for e in entries], NOW) == 2
        store(session, response("ada@example.com", 2, "2026-11-09T08:00:00Z", "worse"))
        assert refresh_outbox(session, NOW) == 0  # recording queued it already
        [again] = list(pending_entries(session))
    assert again.email == "ada@example.com"
    assert (again.rating, again.comment) == (2, "worse")
    assert again.message_id != delivered["ada@example.com"]


def test_an_older_response_arriving_late_does_not_replace_the_latest(profile: Profile) -> None:
    with profile.database.session() as session:
        store(session, response("ada@example.com", 9, "2026-11-10T08:00:00Z"))
        refresh_outbox(session, NOW)
        [first] = list(pending_entries(session))
        mark_delivered(session, [(first.customer_id, first.message_id)], NOW)
        store(session, response("ada@example.com", 1, "2026-10-01T08:00:00Z"))
        assert refresh_outbox(session, NOW) == 0
        assert list(pending_entries(session)) == []


def test_the_message_id_is_the_same_on_every_refresh_and_in_every_profile(
    profile: Profile,
) -> None:
    record = response("ada@example.com", 9, "2026-11-01T08:00:00Z")
    with profile.database.session() as session:
        store(session, record)
        refresh_outbox(session, NOW)
        [entry_] = list(pending_entries(session))
    assert entry_.message_id == message_id_for(record.dedupe_key, "ada@example.com")
    assert message_id_for(record.dedupe_key, "ada@example.com") == message_id_for(
        record.dedupe_key, "ada@example.com"
    )
    assert message_id_for(record.dedupe_key, "bob@example.com") != entry_.message_id
    # A standard UUID version 5, so any tool can recompute it.
    expected = uuid.uuid5(MESSAGE_ID_NAMESPACE, f"{record.dedupe_key}\nada@example.com")
    assert entry_.message_id == str(expected)


def test_delivery_of_a_replaced_message_does_not_mark_the_newer_one_delivered(
    profile: Profile,
) -> None:
    with profile.database.session() as session:
        store(session, response("ada@example.com", 9, "2026-11-01T08:00:00Z"))
        refresh_outbox(session, NOW)
        [old] = list(pending_entries(session))
        store(session, response("ada@example.com", 4, "2026-11-03T08:00:00Z"))
        refresh_outbox(session, NOW)
        assert mark_delivered(session, [(old.customer_id, old.message_id)], NOW) == 0
        assert rows(session)["ada@example.com"].status == OutboxStatus.PENDING


def test_customers_without_user_id_or_anonymous_id_are_counted_as_not_syncable(
    profile: Profile,
) -> None:
    with profile.database.session() as session:
        store(session, response("ada@example.com", 9, "2026-11-01T08:00:00Z"), user_id=None)
        store(session, response("bob@example.com", 9, "2026-11-01T08:00:00Z"))
        refresh_outbox(session, NOW)
        entries = {e.email: e for e in pending_entries(session)}
        assert not entries["ada@example.com"].syncable
        assert entries["bob@example.com"].syncable
        counts = outbox_counts(session)
        assert (counts.pending, counts.not_syncable) == (2, 1)
        # An identify later brings an anonymousId: now the same row can go out.
        ada = session.exec(select(Customer).where(Customer.email == "ada@example.com")).one()
        ada.anonymous_id = "anon-7"
        session.add(ada)
        session.flush()
        assert outbox_counts(session).not_syncable == 0


def test_a_rejected_message_is_not_pending_until_a_newer_response(profile: Profile) -> None:
    with profile.database.session() as session:
        store(session, response("ada@example.com", 9, "2026-11-01T08:00:00Z"))
        refresh_outbox(session, NOW)
        [bad] = list(pending_entries(session))
        assert mark_rejected(session, bad.message_id, "Segment said no") == 1
        assert refresh_outbox(session, NOW) == 0
        assert outbox_counts(session).rejected == 1
        store(session, response("ada@example.com", 5, "2026-11-02T08:00:00Z"))
        assert refresh_outbox(session, NOW) == 0  # recording queued it already
        assert [e.rating for e in pending_entries(session)] == [5]


def test_the_identify_carries_the_rating_as_int_comment_as_text_and_iso_date() -> None:
    message = decoded(entry(rating=9, comment=""))
    assert message["type"] == "identify"
    assert message["userId"] == "u-1"
    assert "anonymousId" not in message
    assert message["messageId"] == "m-1"
    traits = message["traits"]
    assert traits == {"NPS_rating": 9, "NPS_comment": "", "NPS_date": "2026-11-01T08:00:00Z"}
    assert type(traits["NPS_rating"]) is int
    assert datetime.fromisoformat(traits["NPS_date"]) == datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert message["timestamp"] == traits["NPS_date"]
    assert "context" not in message  # once per request, in the batch (encode_batch)


@pytest.mark.parametrize(
    "fields",
    [
        {"comment": 'She said "wow"\\ \n\t\x01 ünïcödé 漢字 🙂'},
        {"user_id": None, "anonymous_id": 'a"non'},
        {"user_id": "ü-ser\u2028", "rating": 0},
        {"answered_at": datetime(2026, 11, 1, 8, 0, 0, 123456, tzinfo=UTC)},
    ],
)
def test_the_wire_bytes_are_the_compact_json_of_the_identify(fields: dict[str, Any]) -> None:
    entry_ = entry(**fields)
    encoded = encode_identify(entry_)
    assert encoded is not None
    expected = json.dumps(identify_message(entry_), ensure_ascii=False, separators=(",", ":"))
    assert encoded.body == expected.encode()


def test_the_anonymous_id_is_used_when_there_is_no_user_id() -> None:
    message = decoded(entry(user_id=None, anonymous_id="anon-1"))
    assert message["anonymousId"] == "anon-1"
    assert "userId" not in message


@pytest.mark.parametrize("unit", ["x", "é", "漢", "🙂", "e\u0301", "👍🏽"])
def test_an_over_long_comment_is_cut_at_a_character_boundary_to_fit_32_kb(unit: str) -> None:
    comment = unit * 40_000
    encoded = encode_identify(entry(comment=comment, rating=0))
    assert encoded is not None
    assert encoded.comment_truncated
    assert len(encoded.body) <= MESSAGE_BUDGET_BYTES <= 32 * 1024
    kept = json.loads(encoded.body)["traits"]
    assert kept["NPS_rating"] == 0
    text = kept["NPS_comment"]
    assert text.endswith(TRUNCATION_MARK)
    body = text.removesuffix(TRUNCATION_MARK)
    assert comment.startswith(body)
    assert len(body) % len(unit) == 0  # whole characters only, accents and skin tones kept
    # Not cut much shorter than needed: at most a couple of characters are given up.
    assert len(encoded.body) > MESSAGE_BUDGET_BYTES - 2 * len(unit.encode())


def test_a_comment_that_fits_is_left_whole() -> None:
    comment = "Großartig! " * 1000
    encoded = encode_identify(entry(comment=comment))
    assert encoded is not None
    assert not encoded.comment_truncated
    assert json.loads(encoded.body)["traits"]["NPS_comment"] == comment


def test_a_lone_surrogate_in_a_comment_does_not_break_encoding() -> None:
    message = decoded(entry(comment="nice \ud83d day"))
    assert message["traits"]["NPS_comment"] == "nice ? day"


def test_a_message_that_cannot_fit_even_without_comment_is_refused() -> None:
    assert encode_identify(entry(user_id="u" * 40_000, comment="hello")) is None


def test_the_full_check_finds_every_customer_whose_row_is_not_their_latest_response(
    profile: Profile,
) -> None:
    with profile.database.session() as session:
        emails = ["old", "missing", "foreign", "tie", "current"]
        store(session, *(response(f"{e}@example.com", 5, "2026-11-01T08:00:00Z") for e in emails))
        for row in session.exec(select(SyncOutbox)):
            mark_delivered(session, [(row.customer_id, row.message_id)], NOW)
        by_email = {c.email: c for c in session.exec(select(Customer))}
        # Responses written past the recording path, so only the full check can notice them.
        for dedupe_key, email, rating, answered in [
            ("direct-old", "old", 7, datetime(2026, 11, 2, tzinfo=UTC)),
            ("direct-tie", "tie", 8, datetime(2026, 11, 1, 8, tzinfo=UTC)),  # same time, later id
        ]:
            customer_id = by_email[f"{email}@example.com"].id
            assert customer_id is not None
            session.add(
                Response(
                    dedupe_key=dedupe_key,
                    customer_id=customer_id,
                    rating=rating,
                    answered_at=answered,
                    received_at=NOW,
                )
            )
        session.flush()
        outbox = rows(session)
        session.delete(outbox["missing@example.com"])
        outbox["foreign@example.com"].response_id = outbox["current@example.com"].response_id
        session.add(outbox["foreign@example.com"])
        session.flush()

        assert refresh_outbox(session, NOW) == 4

        pending = {e.email: e.rating for e in pending_entries(session)}
        statuses = {email: row.status for email, row in rows(session).items()}
    assert pending == {
        "old@example.com": 7,
        "missing@example.com": 5,
        "foreign@example.com": 5,
        "tie@example.com": 8,
    }
    assert statuses["current@example.com"] == OutboxStatus.DELIVERED


def test_pending_identifies_carry_the_same_bytes_as_encode_identify(profile: Profile) -> None:
    comments = ['She said "wow"\\ \n\t\x01 ünïcödé 漢字 🙂', "", "ok\u2028", "Zu langsam! " * 4000]
    with profile.database.session() as session:
        store(
            session,
            *(
                response(f"c{n}@example.com", n, f"2026-11-0{n + 1}T08:00:00Z", comment)
                for n, comment in enumerate(comments)
            ),
        )
        store(session, response("anon@example.com", 3, "2026-11-05T08:00:00.123456Z"), user_id=None)
        store(session, response("nobody@example.com", 4, "2026-11-06T08:00:00Z"), user_id=None)
        anon = session.exec(select(Customer).where(Customer.email == "anon@example.com")).one()
        anon.anonymous_id = 'a"non'
        session.add(anon)
        session.flush()
        # Times stored in other forms than our own: read back like the model reads them.
        stored_forms = ["2026-11-01T08:00:00", "2026-11-02 10:00:00+02:00", "2026-11-03 08:00:00"]
        for form, email in zip(stored_forms, ["c0", "c1", "c2"], strict=True):
            customer = session.exec(
                select(Customer).where(Customer.email == f"{email}@example.com")
            )
            session.connection().exec_driver_sql(
                "UPDATE response SET answered_at = ? WHERE customer_id = ?",
                (form, customer.one().id),
            )
        expected = {}
        for e in pending_entries(session):
            encoded = encode_identify(e) if e.syncable else None
            expected[e.message_id] = (
                e.customer_id,
                e.email,
                e.syncable,
                encoded.body if encoded else None,
                bool(encoded and encoded.comment_truncated),
            )
        got = {
            p.message_id: (p.customer_id, p.email, p.syncable, p.body, p.comment_truncated)
            for p in pending_identifies(session)
        }
    assert got == expected
    assert len(got) == 6
    dates = {json.loads(body)["traits"]["NPS_date"] for _, _, _, body, _ in got.values() if body}
    assert {"2026-11-01T08:00:00Z", "2026-11-02T08:00:00Z", "2026-11-05T08:00:00.123Z"} <= dates
    assert sum(truncated for *_, truncated in got.values()) == 1


def test_every_pending_row_is_read_once_in_customer_order_across_pages(profile: Profile) -> None:
    count = 4321  # more than two pages
    with profile.database.session() as session:
        record_responses(
            session,
            [
                response(f"c{n:05d}@example.com", n % 11, "2026-11-01T08:00:00Z")
                for n in range(count)
            ],
            source="t",
            now=NOW,
        )
        session.flush()
        entries = list(pending_entries(session))
        identifies = list(pending_identifies(session))
    assert len(entries) == len(identifies) == count
    assert [e.customer_id for e in entries] == sorted(e.customer_id for e in entries)
    assert [p.message_id for p in identifies] == [e.message_id for e in entries]
    assert len({e.message_id for e in entries}) == count


def _mixed_outbox(session: Session, count: int) -> None:
    """``count`` pending rows: most with a userId, every 7th customer without any id, every
    11th with only an anonymousId, every 13th response's time stored in another form, and
    every 17th comment too long for 32 KB."""
    record_responses(
        session,
        [
            response(
                f"c{n:05d}@example.com",
                n % 11,
                f"2026-11-01T08:00:{n % 60:02d}.5Z",
                "Zu langsam! " * 3000 if (n + 1) % 17 == 0 else f'"{n}" ünï\n',
            )
            for n in range(count)
        ],
        source="t",
        now=NOW,
    )
    connection = session.connection()
    connection.exec_driver_sql(
        "UPDATE customer SET user_id = CASE WHEN id % 11 = 0 THEN NULL ELSE 'u' || id END,"
        " anonymous_id = CASE WHEN id % 11 = 0 THEN 'a' || id END WHERE id % 7 != 0"
    )
    connection.exec_driver_sql(
        "UPDATE response SET answered_at = '2026-11-02T09:30:00' WHERE customer_id % 13 = 0"
    )


def test_syncable_and_unsyncable_rows_and_odd_stored_times_keep_their_order_across_pages(
    profile: Profile,
) -> None:
    count = 4321  # more than two pages, each mixing every kind of row
    with profile.database.session() as session:
        _mixed_outbox(session, count)
        expected = []
        for e in pending_entries(session):
            encoded = encode_identify(e) if e.syncable else None
            expected.append((e.customer_id, e.message_id, e.syncable, encoded and encoded.body))
        got = [
            (p.customer_id, p.message_id, p.syncable, p.body) for p in pending_identifies(session)
        ]
    assert got == expected
    assert len(got) == count
    assert sum(1 for *_, syncable, _ in got if not syncable) == len(range(7, count + 1, 7))
    anonymous = [json.loads(body) for *_, body in got if body and b'"anonymousId"' in body]
    assert anonymous
    assert all("userId" not in message for message in anonymous)
    dates = {json.loads(body)["traits"]["NPS_date"] for *_, body in got if body}
    assert {"2026-11-02T09:30:00Z", "2026-11-01T08:00:07.500Z"} <= dates


def _as_rows(pages: Any) -> dict[str, tuple[Any, ...]]:
    """Pages flattened to messageId -> (customer id, email, syncable, body, cut)."""
    rows: dict[str, tuple[Any, ...]] = {}
    for page in pages:
        for (message_id, body), customer_id, email in zip(
            page.messages, page.customer_ids, page.emails, strict=True
        ):
            rows[message_id] = (customer_id, email, True, body, False)
        for p in page.set_aside:
            rows[p.message_id] = (p.customer_id, p.email, p.syncable, p.body, p.comment_truncated)
    return rows


def test_pending_counts_agree_with_the_full_counts(profile: Profile) -> None:
    with profile.database.session() as session:
        _mixed_outbox(session, 300)
        pairs = [(e.customer_id, e.message_id) for e in pending_entries(session)][:40]
        mark_delivered(session, pairs, NOW)
        counts = outbox_counts(session)
        assert pending_counts(session) == (counts.pending, counts.not_syncable)
    assert counts.pending == 260
    assert counts.not_syncable == len(range(7, 301, 7)) - 5  # 5 of them among the delivered


@pytest.mark.parametrize("read_ahead", [False, True])
def test_identify_pages_hold_the_same_identifies_as_pending_identifies(
    profile: Profile, read_ahead: bool
) -> None:
    count = 4321  # more than two pages, each with rows written one by one
    with profile.database.session() as session:
        _mixed_outbox(session, count)
        session.commit()  # the read-ahead reads on a connection of its own
        expected = {
            p.message_id: (p.customer_id, p.email, p.syncable, p.body, p.comment_truncated)
            for p in pending_identifies(session)
        }
        pages = list(pending_identify_pages(session, read_ahead=read_ahead))
    assert _as_rows(pages) == expected
    assert len(pages) == 3
    assert sum(len(page.messages) for page in pages) > count // 2
    aside = {p.customer_id for page in pages for p in page.set_aside}
    assert aside == {n for n in range(1, count + 1) if n % 7 == 0 or n % 13 == 0 or n % 17 == 0}
    cut = [p for page in pages for p in page.set_aside if p.comment_truncated]
    assert cut
    assert all(p.body and len(p.body) <= MESSAGE_BUDGET_BYTES for p in cut)


def test_leaving_the_pages_early_ends_the_read_ahead_thread(profile: Profile) -> None:
    with profile.database.session() as session:
        _mixed_outbox(session, 9000)  # five pages: the reader is still busy after the first
        session.commit()
        pages = pending_identify_pages(session, read_ahead=True)
        first = next(pages)
        pages.close()
    assert first.messages
    assert not [t for t in threading.enumerate() if t.name == "sync-page-reader"]


def test_a_failure_on_the_read_ahead_thread_reaches_the_caller(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(connection: Any) -> Any:
        raise sqlite3.OperationalError("disk I/O error")
        yield  # a generator, as the real one

    monkeypatch.setattr(sync_outbox, "_wire_pages", broken)
    with profile.database.session() as session:
        store(session, response("ada@example.com", 9, "2026-11-01T08:00:00Z"))
        session.commit()
        with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
            list(pending_identify_pages(session, read_ahead=True))
    assert not [t for t in threading.enumerate() if t.name == "sync-page-reader"]


@pytest.mark.parametrize("count", [0, 4, 8, 9])
def test_pending_identifies_end_cleanly_when_the_last_page_is_full_or_empty(
    profile: Profile, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    monkeypatch.setattr(sync_outbox, "_PAGE_ROWS", 4)
    with profile.database.session() as session:
        store(
            session,
            *(response(f"c{n}@example.com", 9, "2026-11-01T08:00:00Z") for n in range(count)),
        )
        identifies = list(pending_identifies(session))
    assert len(identifies) == count
    assert all(identify.body for identify in identifies)


def test_delivery_is_marked_across_statement_chunks_and_a_replaced_row_is_left_pending(
    profile: Profile,
) -> None:
    count = 1234  # full chunks and a shorter last one
    with profile.database.session() as session:
        record_responses(
            session,
            [response(f"c{n:05d}@example.com", 7, "2026-11-01T08:00:00Z") for n in range(count)],
            source="t",
            now=NOW,
        )
        session.flush()
        pairs = [(e.customer_id, e.message_id) for e in pending_entries(session)]
        store(session, response("c00600@example.com", 2, "2026-11-02T08:00:00Z"))

        assert mark_delivered(session, pairs, NOW) == count - 1

        counts = outbox_counts(session)
        [left] = list(pending_entries(session))
    assert (counts.delivered, counts.pending) == (count - 1, 1)
    assert (left.email, left.rating) == ("c00600@example.com", 2)
