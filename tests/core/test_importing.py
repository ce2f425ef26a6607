"""Importing identify records: storage, duplicates, event-time order, refusals, cancel, recovery."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError
from sqlmodel import col, func, select

from callexa_desktop.core import import_storage, importing
from callexa_desktop.core.activity import RunStatus
from callexa_desktop.core.decision import Outcome
from callexa_desktop.core.errors import DatabaseProblem, UnreadableFile
from callexa_desktop.core.importing import ImportProgress, import_items, iter_rejections
from callexa_desktop.core.models import (
    ActivityRun,
    Cursor,
    Customer,
    IdentifyEvent,
    Survey,
    SurveyStatus,
)
from callexa_desktop.core.paths import database_path
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.records import IdentifyRecord, ReadItem, ReadNotice, RecordRejected
from callexa_desktop.core.settings import set_setting
from tests.conftest import FIXED_NOW, FakeClock

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def record(
    email: str,
    event_at: datetime,
    *,
    key: str | None = None,
    created_at: datetime | None = None,
    line: int | None = None,
    **traits: Any,
) -> IdentifyRecord:
    return IdentifyRecord(
        email=email,
        event_at=event_at,
        created_at=created_at,
        message_key=key or f"{email}@{event_at.isoformat()}",
        source="export.ndjson",
        line=line,
        **traits,
    )


def use_rules(profile: Profile, **values: int) -> None:
    with profile.database.session() as session:
        for key, value in values.items():
            set_setting(session, key, str(value))


def customer(profile: Profile, email: str) -> Customer:
    with profile.database.session() as session:
        found = session.exec(select(Customer).where(Customer.email == email)).one()
        return found


def surveys_of(profile: Profile, email: str) -> list[Survey]:
    with profile.database.session() as session:
        query = (
            select(Survey)
            .join(Customer, col(Customer.id) == col(Survey.customer_id))
            .where(Customer.email == email)
            .order_by(col(Survey.id))
        )
        return list(session.exec(query))


def events(profile: Profile) -> list[IdentifyEvent]:
    with profile.database.session() as session:
        return list(session.exec(select(IdentifyEvent).order_by(col(IdentifyEvent.id))))


def decisions_by_key(profile: Profile) -> dict[str, str | None]:
    return {event.message_key: event.decision for event in events(profile)}


def test_new_customers_are_stored_and_scheduled(profile: Profile, clock: FakeClock) -> None:
    use_rules(profile, min_delay_days=3, max_delay_days=14)
    summary = import_items(
        profile,
        [
            record("ann@example.com", T0, created_at=T0, user_id="u-1", name="Ann"),
            record("bob@example.com", T0 + DAY, anonymous_id="anon-2", gender="m"),
        ],
        source="export.ndjson",
    )

    assert (summary.read, summary.accepted, summary.duplicates, summary.rejected) == (2, 2, 0, 0)
    assert summary.decisions == {
        Outcome.SCHEDULED: 2,
        Outcome.ALREADY_QUEUED: 0,
        Outcome.SKIPPED_TOO_OLD: 0,
        Outcome.SKIPPED_INTERVAL: 0,
    }
    ann = customer(profile, "ann@example.com")
    assert (ann.user_id, ann.name, ann.created_at) == ("u-1", "Ann", T0)
    assert (ann.first_seen_at, ann.last_identified_at, ann.last_decision) == (T0, T0, "scheduled")
    [survey] = surveys_of(profile, "ann@example.com")
    assert survey.status == SurveyStatus.SCHEDULED
    assert survey.send_at == T0 + 3 * DAY
    assert survey.planned_at == clock.now
    assert survey.reason == "scheduled"
    assert len(survey.key) == 32
    [bob_survey] = surveys_of(profile, "bob@example.com")
    assert bob_survey.send_at == T0 + 4 * DAY  # no createdAt: R is the call itself
    assert bob_survey.key != survey.key
    marked = {e.email: e for e in events(profile)}
    assert marked["ann@example.com"].survey_id == survey.id
    assert marked["ann@example.com"].customer_id == ann.id
    assert marked["ann@example.com"].decision == Outcome.SCHEDULED
    assert marked["bob@example.com"].run_id == summary.run_id


def test_importing_the_same_records_again_changes_nothing(profile: Profile) -> None:
    batch = [record(f"c{i}@example.com", T0 + i * DAY, name=f"C{i}") for i in range(5)]
    first = import_items(profile, batch, source="a")
    before = events(profile), surveys_of(profile, "c0@example.com")

    again = import_items(profile, batch, source="a")

    assert first.accepted == 5
    assert (again.read, again.accepted, again.duplicates) == (5, 0, 5)
    assert sum(again.decisions.values()) == 0
    assert (events(profile), surveys_of(profile, "c0@example.com")) == before
    with profile.database.session() as session:
        assert session.exec(select(func.count()).select_from(Survey)).one() == 5


def test_a_repeated_message_id_within_one_import_is_a_duplicate(profile: Profile) -> None:
    summary = import_items(
        profile,
        [
            record("ann@example.com", T0, key="m-1", name="First"),
            record("ann@example.com", T0 + DAY, key="m-1", name="Second"),
        ],
        source="a",
    )
    assert (summary.accepted, summary.duplicates) == (1, 1)
    assert customer(profile, "ann@example.com").name == "First"


def test_records_of_one_import_are_decided_in_event_time_order(profile: Profile) -> None:
    use_rules(profile, min_delay_days=3, max_delay_days=14)
    created = T0
    late = record("ann@example.com", created + 20 * DAY, key="late", created_at=created)
    early = record("ann@example.com", created + DAY, key="early", created_at=created)

    summary = import_items(profile, [late, early], source="a")

    # In file order the late one would be skipped as too old; by event time it comes second.
    assert decisions_by_key(profile) == {
        "late": Outcome.ALREADY_QUEUED,
        "early": Outcome.SCHEDULED,
    }
    assert summary.decisions[Outcome.SKIPPED_TOO_OLD] == 0
    assert customer(profile, "ann@example.com").last_decision == Outcome.ALREADY_QUEUED
    [survey] = surveys_of(profile, "ann@example.com")
    assert survey.send_at == created + 3 * DAY


def test_repeated_identify_of_an_old_customer_is_ignored(profile: Profile) -> None:
    use_rules(profile, min_delay_days=3, max_delay_days=14)
    created = T0 - 30 * DAY
    summary = import_items(profile, [record("old@example.com", T0, created_at=created)], source="a")
    assert summary.decisions[Outcome.SKIPPED_TOO_OLD] == 1
    assert surveys_of(profile, "old@example.com") == []
    assert customer(profile, "old@example.com").last_decision == Outcome.SKIPPED_TOO_OLD


def test_records_of_one_customer_see_each_other_within_and_across_chunks(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, "DECIDE_CHUNK", 2)
    monkeypatch.setattr(importing, "READ_BATCH", 3)
    batch = [record("ann@example.com", T0 + i * DAY, user_id=f"u{i}") for i in range(7)]

    summary = import_items(profile, batch, source="a")

    assert summary.decisions[Outcome.SCHEDULED] == 1
    assert summary.decisions[Outcome.ALREADY_QUEUED] == 6
    assert len(surveys_of(profile, "ann@example.com")) == 1
    ann = customer(profile, "ann@example.com")
    assert (ann.user_id, ann.last_identified_at) == ("u6", T0 + 6 * DAY)


def test_customers_leaving_the_cache_are_stored_and_read_back_unchanged(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, "DECIDE_CHUNK", 2)
    monkeypatch.setattr(importing, "CACHED_CUSTOMERS", 2)
    emails = ["a@example.com", "b@example.com", "c@example.com"]
    # Each customer comes back after the other two pushed it out of the cache.
    batch = [record(emails[n % 3], T0 + n * DAY, user_id=f"u{n}", name=f"N{n}") for n in range(9)]

    summary = import_items(profile, batch, source="a")

    assert summary.decisions[Outcome.SCHEDULED] == 3
    assert summary.decisions[Outcome.ALREADY_QUEUED] == 6
    for offset, email in enumerate(emails):
        stored = customer(profile, email)
        last = 6 + offset
        assert (stored.user_id, stored.name) == (f"u{last}", f"N{last}")
        assert stored.first_seen_at == T0 + offset * DAY
        assert stored.last_identified_at == T0 + last * DAY
        assert len(surveys_of(profile, email)) == 1


def test_a_customer_with_a_pending_survey_is_already_queued(profile: Profile) -> None:
    import_items(profile, [record("ann@example.com", T0)], source="a")
    later = import_items(profile, [record("ann@example.com", T0 + 60 * DAY)], source="b")
    assert later.decisions[Outcome.ALREADY_QUEUED] == 1
    assert len(surveys_of(profile, "ann@example.com")) == 1


def test_a_customer_surveyed_within_the_interval_is_skipped(profile: Profile) -> None:
    import_items(profile, [record("ann@example.com", T0)], source="a")
    with profile.database.session() as session:
        [survey] = session.exec(select(Survey)).all()
        survey.status = SurveyStatus.SENT
        survey.sent_at = T0
        ann = session.exec(select(Customer)).one()
        ann.last_surveyed_at = T0
        session.add_all([survey, ann])

    within = import_items(profile, [record("ann@example.com", T0 + 25 * 7 * DAY)], source="b")
    after = import_items(profile, [record("ann@example.com", T0 + 26 * 7 * DAY)], source="c")

    assert within.decisions[Outcome.SKIPPED_INTERVAL] == 1
    assert after.decisions[Outcome.SCHEDULED] == 1
    statuses = [s.status for s in surveys_of(profile, "ann@example.com")]
    assert statuses == [SurveyStatus.SENT, SurveyStatus.SCHEDULED]


def test_traits_change_only_from_a_record_at_least_as_new(profile: Profile) -> None:
    import_items(
        profile,
        [record("ann@example.com", T0 + 10 * DAY, user_id="u-new", name="New", gender="f")],
        source="a",
    )
    import_items(
        profile,
        [record("ann@example.com", T0, key="older", user_id="u-old", name="Old", last_name="X")],
        source="b",
    )
    ann = customer(profile, "ann@example.com")
    assert (ann.user_id, ann.name, ann.last_name) == ("u-new", "New", None)
    assert ann.last_identified_at == T0 + 10 * DAY
    assert ann.last_decision == Outcome.SCHEDULED  # the newest record's decision stays
    assert ann.first_seen_at == T0  # but the customer was seen earlier than we knew

    import_items(
        profile,
        [record("ann@example.com", T0 + 10 * DAY, key="same-time", anonymous_id="a-1")],
        source="c",
    )
    ann = customer(profile, "ann@example.com")
    # A newer record without userId keeps the old one; the latest non-empty id wins.
    assert (ann.user_id, ann.anonymous_id, ann.name, ann.gender) == ("u-new", "a-1", "New", "f")
    assert ann.last_decision == Outcome.ALREADY_QUEUED


def test_rejections_are_stored_with_file_line_and_reason(profile: Profile) -> None:
    items: list[ReadItem] = [
        RecordRejected("export.ndjson", 2, "malformed_json", "Expecting value"),
        record("ann@example.com", T0, line=1),
        ReadNotice("export.ndjson", "export.ndjson was read as cp1252, not UTF-8."),
        RecordRejected("export.ndjson", 5, "missing_email"),
    ]
    summary = import_items(profile, items, source="export.ndjson")

    assert (summary.read, summary.accepted, summary.rejected) == (3, 1, 2)
    assert summary.notices == ["export.ndjson was read as cp1252, not UTF-8."]
    with profile.database.session() as session:
        rejected = [
            (r.source, r.line, r.reason, r.detail) for r in iter_rejections(session, summary.run_id)
        ]
    assert rejected == [
        ("export.ndjson", 2, "malformed_json", "Expecting value"),
        ("export.ndjson", 5, "missing_email", ""),
    ]


def test_rejections_of_another_run_are_not_listed(profile: Profile) -> None:
    first = import_items(profile, [RecordRejected("a", 1, "missing_email")], source="a")
    second = import_items(profile, [RecordRejected("b", 9, "invalid_email")], source="b")
    with profile.database.session() as session:
        assert [r.source for r in iter_rejections(session, first.run_id)] == ["a"]
        assert [r.line for r in iter_rejections(session, second.run_id)] == [9]


def test_a_source_refused_midway_leaves_nothing_behind(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, "READ_BATCH", 2)

    def broken() -> Iterator[ReadItem]:
        for i in range(5):
            yield record(f"c{i}@example.com", T0)
        yield RecordRejected("broken.ndjson.gz", 6, "malformed_json")
        raise UnreadableFile("The file broken.ndjson.gz ends in the middle of its compression.")

    summary = import_items(profile, broken(), source="broken.ndjson.gz")

    assert summary.refused_files == [
        ("broken.ndjson.gz", "The file broken.ndjson.gz ends in the middle of its compression.")
    ]
    assert (summary.read, summary.accepted, summary.rejected) == (0, 0, 0)
    assert events(profile) == []
    with profile.database.session() as session:
        assert list(iter_rejections(session, summary.run_id)) == []
        run = session.get(ActivityRun, summary.run_id)
        assert run is not None
        assert run.status == RunStatus.FAILED
        assert "middle of its compression" in run.message


def test_cancelling_while_reading_keeps_nothing_of_the_source(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, "READ_BATCH", 2)
    batch = [record(f"c{i}@example.com", T0) for i in range(6)]
    summary = import_items(profile, batch, source="a", should_cancel=lambda: True)

    assert summary.cancelled
    assert events(profile) == []
    with profile.database.session() as session:
        run = session.get(ActivityRun, summary.run_id)
        assert run is not None
        assert run.status == RunStatus.CANCELLED


def test_records_left_undecided_by_a_cancel_are_decided_by_the_next_import(
    profile: Profile,
) -> None:
    deciding = False

    def watch(progress: ImportProgress) -> None:
        nonlocal deciding
        deciding = deciding or progress.phase == "deciding"

    batch = [record(f"c{i}@example.com", T0 + i * DAY) for i in range(4)]
    cancelled = import_items(
        profile, batch, source="a", progress=watch, should_cancel=lambda: deciding
    )

    assert cancelled.cancelled
    assert sum(cancelled.decisions.values()) == 0
    assert [e.decision for e in events(profile)] == [None] * 4
    with profile.database.session() as session:
        assert session.exec(select(func.count()).select_from(Customer)).one() == 0

    later = import_items(profile, [record("new@example.com", T0)], source="b")

    assert later.decisions[Outcome.SCHEDULED] == 5
    assert any("4 records left undecided" in notice for notice in later.notices)
    assert all(e.decision == Outcome.SCHEDULED for e in events(profile))


def test_an_import_interrupted_between_the_passes_loses_nothing(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(self: Any) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(importing._ImportJob, "_decide_all", killed)
        with pytest.raises(KeyboardInterrupt):
            import_items(profile, [record("ann@example.com", T0)], source="a")
    with profile.database.session() as session:
        run = session.exec(select(ActivityRun)).one()
        assert run.status == RunStatus.FAILED

    again = import_items(profile, [record("ann@example.com", T0)], source="a")

    assert (again.duplicates, again.decisions[Outcome.SCHEDULED]) == (1, 1)
    assert len(surveys_of(profile, "ann@example.com")) == 1


def test_progress_reports_reading_then_deciding(profile: Profile) -> None:
    seen: list[ImportProgress] = []
    batch = [record(f"c{i}@example.com", T0) for i in range(3)]
    import_items(profile, batch, source="a", progress=seen.append)

    phases = [p.phase for p in seen]
    assert phases[0] == "reading"
    assert phases[-1] == "deciding"
    assert phases.index("deciding") > phases.index("reading")
    assert seen[-1].records_read == 3
    assert seen[-1].records_decided == seen[-1].records_to_decide == 3


def test_the_run_is_recorded_in_the_activity_history(profile: Profile) -> None:
    summary = import_items(
        profile,
        [record("ann@example.com", T0), RecordRejected("feed", 2, "invalid_email")],
        source="https://example.com/feed",
    )
    with profile.database.session() as session:
        run = session.get(ActivityRun, summary.run_id)
    assert run is not None
    assert (run.kind, run.status, run.source) == ("poll", RunStatus.OK, "https://example.com/feed")
    counts = json.loads(run.summary)
    assert (counts["accepted"], counts["rejected"]) == (1, 1)
    assert counts["decisions"]["scheduled"] == 1
    assert "1 surveys scheduled" in run.message


def test_summary_as_dict_has_the_command_line_fields(profile: Profile) -> None:
    summary = import_items(profile, [record("ann@example.com", T0)], source="a")
    fields = summary.as_dict()
    assert {"read", "accepted", "duplicates", "rejected", "decisions", "notices"} <= set(fields)
    assert fields["refused_files"] == []
    assert set(fields["decisions"]) == set(Outcome.ALL)
    json.dumps(fields)


# Property: whatever sequence of imports arrives, the queue stays consistent.


@pytest.fixture(scope="module")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("template")
    Profile.open(folder).close()
    return database_path(folder)


@contextmanager
def fresh_profile(template: Path) -> Iterator[Profile]:
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(template, database_path(Path(folder)))
        opened = Profile.open(Path(folder), clock=FakeClock(FIXED_NOW))
        try:
            yield opened
        finally:
            opened.close()


EMAILS = [f"c{i}@example.com" for i in range(4)]
record_strategy = st.builds(
    record,
    st.sampled_from(EMAILS),
    st.integers(0, 400).map(lambda days: T0 + days * DAY),
    key=st.integers(0, 30).map(lambda n: f"m-{n}"),
    created_at=st.none() | st.integers(-60, 400).map(lambda days: T0 + days * DAY),
)
rules_strategy = st.tuples(st.integers(0, 10), st.integers(0, 40), st.integers(0, 30)).filter(
    lambda r: r[1] == 0 or r[0] <= r[1]
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rules=rules_strategy,
    imports=st.lists(st.lists(record_strategy, max_size=8), min_size=1, max_size=4),
    sent=st.lists(st.booleans(), max_size=6),
)
def test_any_sequence_of_imports_keeps_the_queue_consistent(
    monkeypatch: pytest.MonkeyPatch,
    template_database: Path,
    rules: tuple[int, int, int],
    imports: list[list[IdentifyRecord]],
    sent: list[bool],
) -> None:
    # Small batches, chunks and cache, so records meet across chunk and cache boundaries.
    monkeypatch.setattr(importing, "READ_BATCH", 3)
    monkeypatch.setattr(importing, "DECIDE_CHUNK", 3)
    monkeypatch.setattr(importing, "CACHED_CUSTOMERS", 2)
    with fresh_profile(template_database) as profile:
        use_rules(profile, max_delay_days=rules[1])
        use_rules(profile, min_delay_days=rules[0], min_interval_weeks=rules[2])
        for number, batch in enumerate(imports):
            summary = import_items(profile, batch, source=f"import-{number}")
            assert summary.read == summary.accepted + summary.duplicates + summary.rejected
            assert sum(summary.decisions.values()) == summary.accepted
            # Some surveys go out between imports, so the interval rule comes into play.
            with profile.database.session() as session:
                pending = session.exec(
                    select(Survey).where(Survey.status == SurveyStatus.SCHEDULED)
                ).all()
                for survey, is_sent in zip(pending, sent, strict=False):
                    if is_sent:
                        survey.status, survey.sent_at = SurveyStatus.SENT, survey.send_at
                        owner = session.get(Customer, survey.customer_id)
                        assert owner is not None
                        owner.last_surveyed_at = survey.send_at
                        session.add_all([survey, owner])

        with profile.database.session() as session:
            stored = session.exec(select(IdentifyEvent)).all()
            surveys = {s.id: s for s in session.exec(select(Survey))}
            customers = {c.id: c for c in session.exec(select(Customer))}
        keys = {r.message_key for batch in imports for r in batch}
        assert len(stored) == len(keys)
        pending_per_customer: dict[int, int] = {}
        for survey in surveys.values():
            if survey.status in SurveyStatus.PENDING:
                pending_per_customer[survey.customer_id] = (
                    pending_per_customer.get(survey.customer_id, 0) + 1
                )
        assert all(count == 1 for count in pending_per_customer.values())
        for event in stored:
            assert event.decision in Outcome.ALL
            assert event.customer_id in customers
            if event.decision == Outcome.SCHEDULED:
                survey = surveys[event.survey_id]
                assert survey.identify_id == event.id
                assert survey.customer_id == event.customer_id
                assert survey.send_at >= event.event_at
            else:
                assert event.survey_id is None
        surveyed_customers = {s.customer_id for s in surveys.values()}
        for customer_id in customers:
            decided = {e.decision for e in stored if e.customer_id == customer_id}
            if decided <= {Outcome.SKIPPED_TOO_OLD, Outcome.SKIPPED_INTERVAL}:
                assert customer_id not in surveyed_customers


# Whole files, through the readers.


def write_lines(path: Path, messages: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(m) + "\n" for m in messages), encoding="utf-8")
    return path


def message(email: str, timestamp: str, message_id: str, **traits: Any) -> dict[str, Any]:
    return {
        "type": "identify",
        "messageId": message_id,
        "timestamp": timestamp,
        "traits": {"email": email, **traits},
    }


def test_records_of_all_files_of_one_import_are_decided_in_event_time_order(
    profile: Profile, tmp_path: Path
) -> None:
    use_rules(profile, min_delay_days=3, max_delay_days=14)
    created = "2026-03-01T00:00:00Z"
    later = write_lines(
        tmp_path / "later.ndjson",
        [message("ann@example.com", "2026-03-25T00:00:00Z", "late", createdAt=created)],
    )
    earlier = write_lines(
        tmp_path / "earlier.ndjson",
        [message("ann@example.com", "2026-03-02T00:00:00Z", "early", createdAt=created)],
    )

    summary = importing.import_files(profile, [later, earlier])

    assert summary.files == [str(later), str(earlier)]
    assert decisions_by_key(profile) == {
        "late": Outcome.ALREADY_QUEUED,
        "early": Outcome.SCHEDULED,
    }


def test_a_file_refused_midway_keeps_the_other_files_of_the_import(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, "READ_BATCH", 50)
    first = write_lines(
        tmp_path / "first.ndjson", [message("a@example.com", "2026-03-02T00:00:00Z", "a")]
    )
    many = [message(f"c{n}@example.com", "2026-03-02T00:00:00Z", f"m{n}") for n in range(3000)]
    packed = gzip.compress("".join(json.dumps(m) + "\n" for m in many).encode())
    truncated = tmp_path / "truncated.ndjson.gz"
    truncated.write_bytes(packed[: len(packed) - 200])
    last = write_lines(
        tmp_path / "last.ndjson", [message("z@example.com", "2026-03-02T00:00:00Z", "z")]
    )
    seen: list[ImportProgress] = []

    summary = importing.import_files(profile, [first, truncated, last], progress=seen.append)

    assert [name for name, _ in summary.refused_files] == [str(truncated)]
    assert "truncated.ndjson.gz" in summary.refused_files[0][1]
    assert (summary.read, summary.accepted) == (2, 2)
    assert sorted(e.email for e in events(profile)) == ["a@example.com", "z@example.com"]
    assert seen[-1].files_done == seen[-1].files_total == 3
    with profile.database.session() as session:
        run = session.get(ActivityRun, summary.run_id)
        assert run is not None
        assert (run.status, run.source) == (
            RunStatus.OK,
            "first.ndjson, truncated.ndjson.gz, last.ndjson",
        )


def test_an_import_with_nothing_new_writes_nothing_while_deciding(
    profile: Profile, clock: FakeClock
) -> None:
    batch = [record("ann@example.com", T0)]
    import_items(profile, batch, source="a")
    with profile.database.session() as session:
        before = session.exec(select(Cursor)).all()
    clock.advance(hours=1)

    import_items(profile, batch, source="a")

    with profile.database.session() as session:
        assert session.exec(select(Cursor)).all() == before
    assert [c.updated_at for c in before] == [clock.now - timedelta(hours=1)]


def test_a_database_failure_is_one_sentence_and_the_run_says_so(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked(self: Any) -> None:
        raise OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(import_storage.Intake, "flush", locked)

    with pytest.raises(DatabaseProblem, match="could not write to the database") as raised:
        import_items(profile, [record("ann@example.com", T0)], source="a")

    assert "database is locked" in str(raised.value)
    with profile.database.session() as session:
        run = session.exec(select(ActivityRun)).one()
    assert run.status == RunStatus.FAILED
    assert "database is locked" in run.message


def test_progress_counts_records_as_they_are_read_not_only_once_a_batch_is_written(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, "PROGRESS_INTERVAL", 0.0)  # every report, not every 0.1 s
    # Fewer records than one write batch, in a file of several read chunks (about 1 KB each).
    count = 3000
    padding = "x" * 1000
    export = write_lines(
        tmp_path / "big-records.ndjson",
        [
            message(f"c{n}@example.com", "2026-03-02T00:00:00Z", f"m{n}", note=padding)
            for n in range(count)
        ],
    )
    assert count < importing.READ_BATCH
    seen: list[ImportProgress] = []

    importing.import_files(profile, [export], progress=seen.append)

    reading = [p for p in seen if p.phase == "reading"]
    part_way = [p for p in reading if 0 < p.bytes_done < p.bytes_total]
    assert part_way, "the reader reported its bytes part-way"
    assert all(p.records_read > 0 for p in part_way[1:])
    assert [p.records_read for p in reading] == sorted(p.records_read for p in reading)
    assert reading[-1].records_read == count
