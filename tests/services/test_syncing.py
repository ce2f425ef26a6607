"""The sync run end to end: a profile with responses, a Segment stand-in on 127.0.0.1."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from callexa_desktop.core.activity import RunKind, recent_runs
from callexa_desktop.core.errors import SyncRefused
from callexa_desktop.core.models import Customer, SyncOutbox
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.responses import ResponseRecord, normalise_response, record_responses
from callexa_desktop.core.settings import set_setting
from callexa_desktop.core.sync_outbox import OutboxStatus, outbox_counts
from callexa_desktop.services.sandbox.segment import SegmentFake, SegmentServer
from callexa_desktop.services.syncing import sync_ratings
from tests.services.fault_server import DROP, FakeTime, FaultServer, Status

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def write_key() -> str:
    return secrets.token_hex(16)


@pytest.fixture
def segment(profile: Profile, write_key: str) -> Iterator[SegmentFake]:
    with SegmentServer(SegmentFake(write_key)) as server:
        point_at(profile, server.endpoint)
        yield server.fake


def point_at(profile: Profile, endpoint: str) -> None:
    with profile.database.session() as session:
        set_setting(session, "segment_endpoint", endpoint)


def add_responses(profile: Profile, *replies: dict[str, Any], ids: bool = True) -> None:
    records = []
    for reply in replies:
        result = normalise_response(reply, source="test", line=None)
        assert isinstance(result, ResponseRecord)
        records.append(result)
    with profile.database.session() as session:
        record_responses(session, records, source="test", now=profile.clock())
        if ids:
            give_user_ids(session, {r.email for r in records})


def give_user_ids(session: Session, emails: set[str]) -> None:
    for customer in session.exec(select(Customer).where(col(Customer.email).in_(emails))):
        customer.user_id = customer.user_id or "user-" + customer.email.split("@")[0]
        session.add(customer)


def reply(name: str, rating: int, day: int, comment: str = "") -> dict[str, Any]:
    return {
        "email": f"{name}@example.com",
        "rating": rating,
        "answered_at": f"2026-11-{day:02d}T08:00:00Z",
        "comment": comment,
    }


def traits_by_user(fake: SegmentFake) -> dict[str, dict[str, Any]]:
    return {m["userId"]: m["traits"] for m in fake.messages}


def test_every_rating_is_delivered_once_as_identify_traits(
    profile: Profile, segment: SegmentFake, write_key: str
) -> None:
    add_responses(profile, reply("ada", 9, 1, "Great"), reply("bob", 0, 2))
    summary = sync_ratings(profile, write_key)
    assert (summary.to_send, summary.delivered, summary.pending, summary.failed) == (2, 2, 0, 0)
    assert summary.ok
    traits = traits_by_user(segment)
    assert traits["user-ada"] == {
        "NPS_rating": 9,
        "NPS_comment": "Great",
        "NPS_date": "2026-11-01T08:00:00Z",
    }
    assert traits["user-bob"]["NPS_comment"] == ""
    assert type(traits["user-bob"]["NPS_rating"]) is int
    assert datetime.fromisoformat(traits["user-bob"]["NPS_date"]).tzinfo is not None
    assert set(segment.message_id_counts().values()) == {1}
    assert all(m["type"] == "identify" for m in segment.messages)


def test_a_second_sync_with_nothing_new_sends_nothing(
    profile: Profile, segment: SegmentFake, write_key: str
) -> None:
    add_responses(profile, reply("ada", 9, 1))
    sync_ratings(profile, write_key)
    requests = segment.requests
    again = sync_ratings(profile, write_key)
    assert (again.to_send, again.delivered, again.requests) == (0, 0, 0)
    assert segment.requests == requests


def test_a_newer_response_resends_only_that_customer_and_the_latest_wins(
    profile: Profile, segment: SegmentFake, write_key: str
) -> None:
    add_responses(profile, reply("ada", 9, 1), reply("bob", 7, 1), reply("cy", 5, 1))
    sync_ratings(profile, write_key)
    first_ids = {m["userId"]: m["messageId"] for m in segment.messages}
    segment.reset()
    # Bob answers again; an older answer of Cy turns up late and must not win.
    add_responses(
        profile,
        reply("bob", 2, 9, "worse"),
        {**reply("cy", 10, 1), "answered_at": "2026-10-01T08:00:00Z"},
    )
    summary = sync_ratings(profile, write_key)
    assert summary.delivered == 1
    [message] = segment.messages
    assert message["userId"] == "user-bob"
    assert message["traits"]["NPS_rating"] == 2
    assert message["messageId"] != first_ids["user-bob"]


def test_two_responses_before_a_sync_send_only_the_latest(
    profile: Profile, segment: SegmentFake, write_key: str
) -> None:
    add_responses(profile, reply("ada", 10, 5, "love it"), reply("ada", 3, 2, "meh"))
    sync_ratings(profile, write_key)
    assert [m["traits"]["NPS_rating"] for m in segment.messages] == [10]


def test_customers_without_ids_are_reported_and_synced_once_an_id_arrives(
    profile: Profile, segment: SegmentFake, write_key: str
) -> None:
    add_responses(profile, reply("ada", 9, 1), ids=False)
    add_responses(profile, reply("bob", 8, 1))
    summary = sync_ratings(profile, write_key)
    assert summary.not_syncable == ["ada@example.com"]
    assert summary.delivered == 1
    with profile.database.session() as session:
        ada = session.exec(select(Customer).where(Customer.email == "ada@example.com")).one()
        ada.anonymous_id = "anon-ada"
        session.add(ada)
    later = sync_ratings(profile, write_key)
    assert later.not_syncable == []
    assert later.delivered == 1
    assert segment.messages[-1]["anonymousId"] == "anon-ada"
    assert "userId" not in segment.messages[-1]


def test_a_refused_write_key_stops_the_run_and_leaves_everything_pending(
    profile: Profile, segment: SegmentFake
) -> None:
    add_responses(profile, reply("ada", 9, 1), reply("bob", 8, 1))
    wrong = secrets.token_hex(16)
    summary = sync_ratings(profile, wrong)
    assert not summary.ok
    assert "refused the write key" in summary.stopped
    assert wrong not in summary.stopped
    assert (summary.delivered, summary.pending) == (0, 2)
    with profile.database.session() as session:
        assert outbox_counts(session).pending == 2
        run = recent_runs(session, kind=RunKind.SYNC)[0]
        assert run.status == "failed"
        assert wrong not in run.message + run.summary


def test_a_refused_message_is_reported_and_the_others_delivered(
    profile: Profile, segment: SegmentFake, write_key: str
) -> None:
    add_responses(profile, *(reply(f"c{n}", n % 11, 1) for n in range(40)))
    segment.reject_messages(lambda m: m.get("userId") == "user-c17")
    summary = sync_ratings(profile, write_key)
    assert summary.ok
    assert (summary.delivered, summary.failed) == (39, 1)
    assert summary.rejected[0]["email"] == "c17@example.com"
    with profile.database.session() as session:
        statuses = {row.status for row in session.exec(select(SyncOutbox))}
        assert statuses == {OutboxStatus.DELIVERED, OutboxStatus.REJECTED}
    assert sync_ratings(profile, write_key).to_send == 0  # not retried until a newer response


def test_transient_failures_are_retried_and_each_rating_arrives_once(
    profile: Profile, write_key: str
) -> None:
    add_responses(profile, *(reply(f"c{n}", n % 11, 1) for n in range(30)))
    script = [Status(503), Status(429, {"Retry-After": "2"}), DROP]
    clock = FakeTime()
    with FaultServer(script, write_key) as server:
        point_at(profile, server.endpoint)
        summary = sync_ratings(profile, write_key, sleep=clock.sleep, monotonic=clock.monotonic)
        attempts, counts = server.attempts, server.fake.message_id_counts()
    assert summary.delivered == 30
    assert summary.retries == 3
    assert len(attempts) == 4
    assert all(ids == attempts[0] for ids in attempts)
    assert len(counts) == 30
    assert set(counts.values()) == {1}
    assert 2 in clock.sleeps


def test_a_run_that_gives_up_leaves_the_rest_for_the_next_run_with_the_same_ids(
    profile: Profile, write_key: str
) -> None:
    add_responses(profile, *(reply(f"c{n}", n % 11, 1) for n in range(10)))
    clock = FakeTime()
    with FaultServer([Status(503)] * 50, write_key) as server:
        point_at(profile, server.endpoint)
        first = sync_ratings(profile, write_key, sleep=clock.sleep, monotonic=clock.monotonic)
        tried = set(server.attempts[0])
        server.script.clear()
        second = sync_ratings(profile, write_key, sleep=clock.sleep, monotonic=clock.monotonic)
        delivered = server.fake.message_id_counts()
    assert not first.ok
    assert (first.delivered, first.pending) == (0, 10)
    assert "next sync" in first.stopped
    assert sum(clock.sleeps) >= 60
    assert second.delivered == 10
    assert set(delivered) == tried
    with profile.database.session() as session:
        rows = session.exec(select(SyncOutbox)).all()
        assert all(row.status == OutboxStatus.DELIVERED for row in rows)
        assert all(row.attempts == 2 for row in rows)


def test_a_dry_run_sends_nothing_and_changes_nothing(
    profile: Profile, segment: SegmentFake
) -> None:
    add_responses(profile, reply("ada", 9, 1))
    with profile.database.session() as session:
        before = [(r.status, r.attempts) for r in session.exec(select(SyncOutbox))]
    summary = sync_ratings(profile, "", dry_run=True)
    assert (summary.dry_run, summary.to_send, summary.delivered) == (True, 1, 0)
    assert segment.requests == 0
    with profile.database.session() as session:
        assert [(r.status, r.attempts) for r in session.exec(select(SyncOutbox))] == before
        assert recent_runs(session, kind=RunKind.SYNC) == []


def test_without_a_write_key_the_sync_is_refused_with_how_to_fix_it(profile: Profile) -> None:
    with pytest.raises(SyncRefused, match="keys set segment"):
        sync_ratings(profile, "")


def test_the_run_is_recorded_with_counts_and_progress_is_reported(
    profile: Profile, segment: SegmentFake, write_key: str
) -> None:
    add_responses(profile, *(reply(f"c{n}", n % 11, 1) for n in range(5)))
    seen: list[tuple[int, int]] = []
    summary = sync_ratings(
        profile, write_key, progress=lambda done, total: seen.append((done, total))
    )
    assert seen[0] == (0, 5)
    assert seen[-1] == (5, 5)
    with profile.database.session() as session:
        run = recent_runs(session, kind=RunKind.SYNC)[0]
        assert (run.id, run.status) == (summary.run_id, "ok")
        assert json.loads(run.summary)["delivered"] == 5
        assert "Delivered 5 of 5" in run.message


def test_an_over_long_comment_is_truncated_and_the_rating_still_arrives(
    profile: Profile, segment: SegmentFake, write_key: str
) -> None:
    add_responses(profile, reply("ada", 4, 1, "Zu langsam! " * 5000))
    summary = sync_ratings(profile, write_key)
    assert summary.comments_truncated == 1
    [message] = segment.messages
    assert message["traits"]["NPS_rating"] == 4
    assert message["traits"]["NPS_comment"].startswith("Zu langsam! ")
    assert message["traits"]["NPS_comment"].endswith("…")
    assert len(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()) <= 32 * 1024


def test_a_large_sync_has_committed_every_acknowledged_batch_when_it_returns(
    profile: Profile, segment: SegmentFake, write_key: str
) -> None:
    count = 5000  # several batches, recorded while the next ones travel
    with profile.database.session() as session:
        records = [
            normalise_response(reply(f"c{n:04d}", n % 11, 1 + n % 28), source="t", line=None)
            for n in range(count)
        ]
        record_responses(
            session, [r for r in records if isinstance(r, ResponseRecord)], source="t", now=NOW
        )
        session.flush()
        session.execute(update(Customer).values(user_id="user-" + Customer.email))
    seen: list[tuple[int, int]] = []

    summary = sync_ratings(
        profile, write_key, progress=lambda done, total: seen.append((done, total))
    )

    with profile.database.session() as session:
        counts = outbox_counts(session)
    assert (counts.delivered, counts.pending) == (count, 0)
    assert (summary.delivered, summary.pending) == (count, 0)
    assert summary.requests >= 3
    assert seen[0] == (0, count)
    assert seen[-1] == (count, count)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert len(segment.message_id_counts()) == count
