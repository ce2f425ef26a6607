"""The sync controller: Sync now, the daily timer with catch-up, sleep/resume, auto-send.

Every test talks to a real local server (the sandbox on 127.0.0.1); time is a fake clock.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot
from sqlmodel import select

from callexa_desktop.app.context import AppContext
from callexa_desktop.app.sync_controller import RETRY_AFTER_FAILURE, SyncController, SyncResult
from callexa_desktop.app.workers import TaskError
from callexa_desktop.core.activity import RunKind, RunStatus, finish_run, recent_runs, start_run
from callexa_desktop.core.models import Customer, Survey, SurveyStatus
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.responses import ResponseRecord, record_responses
from callexa_desktop.core.settings import set_setting
from callexa_desktop.services.keychain import Keychain, KeyName
from callexa_desktop.services.sandbox import Sandbox
from tests.conftest import FakeClock
from tests.services.memory_keyring import InMemoryKeyring

TODAY_0600 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


@pytest.fixture
def segment_key() -> str:
    return secrets.token_hex(16)


@pytest.fixture
def sandbox(profile: Profile, segment_key: str) -> Iterator[Sandbox]:
    with Sandbox(segment_write_key=segment_key) as running:
        with profile.database.session() as session:
            set_setting(session, "segment_endpoint", running.segment_endpoint)
            set_setting(session, "callexa_base_url", running.callexa_base_url)
            set_setting(session, "sync_time", "06:00")
        yield running


@pytest.fixture
def keychain(memory_keychain: Keychain, segment_key: str) -> Keychain:
    memory_keychain.set(KeyName.SEGMENT, segment_key)
    return memory_keychain


@pytest.fixture
def controller(
    qtbot: QtBot, context: AppContext, keychain: Keychain, sandbox: Sandbox
) -> Iterator[SyncController]:
    made = SyncController(context, keychain, tick_ms=60_000, zone=lambda: UTC)
    yield made
    made.stop()


def _rated_customer(profile: Profile, email: str, rating: int) -> None:
    """A customer Segment knows (userId) with one response waiting to be synced."""
    now = profile.clock()
    with profile.database.session() as session:
        session.add(Customer(email=email, user_id=f"user-{email}", first_seen_at=now))
    with profile.database.session() as session:
        record_responses(
            session,
            [
                ResponseRecord(
                    email=email,
                    rating=rating,
                    comment="",
                    answered_at=now - timedelta(hours=2),
                    source="test",
                )
            ],
            source="test",
            now=now,
        )


def _synced_at(profile: Profile, moment: datetime) -> None:
    """Record a successful sync run at ``moment`` in the Activity history."""
    run = start_run(profile.database, RunKind.SYNC, clock=lambda: moment)
    finish_run(profile.database, run, status=RunStatus.OK, clock=lambda: moment)


def _sync_runs(profile: Profile) -> list[str]:
    with profile.database.session() as session:
        return [run.status for run in recent_runs(session, kind=RunKind.SYNC)]


def test_sync_now_delivers_ratings_to_segment_and_activity_records_it(
    qtbot: QtBot, profile: Profile, controller: SyncController, sandbox: Sandbox
) -> None:
    _rated_customer(profile, "ann@example.com", 9)

    with qtbot.waitSignal(controller.sync_finished, timeout=20_000) as finished:
        assert controller.sync_now() is True

    result: SyncResult = finished.args[0]
    assert result.sync.delivered == 1
    traits = sandbox.segment.snapshot()[0]["traits"]
    assert traits["NPS_rating"] == 9
    assert _sync_runs(profile) == [RunStatus.OK]
    assert not controller.syncing


def test_the_status_bar_gets_a_short_headline_and_the_whole_story_behind_it(
    qtbot: QtBot, profile: Profile, controller: SyncController, sandbox: Sandbox
) -> None:
    _rated_customer(profile, "ann@example.com", 9)
    with profile.database.session() as session:
        record_responses(
            session,
            [ResponseRecord("walk-in@example.com", 7, "", profile.clock(), "test")],
            source="test",
            now=profile.clock(),
        )  # answered, but never identified: no userId or anonymousId

    with qtbot.waitSignal(controller.status_message, timeout=20_000) as said:
        controller.sync_now()

    headline, story = said.args
    assert headline == "Sync finished: 1 rating delivered."
    assert "1 customer without userId or anonymousId" in story


def test_a_second_sync_now_while_one_runs_is_refused(
    qtbot: QtBot, profile: Profile, controller: SyncController, sandbox: Sandbox
) -> None:
    _rated_customer(profile, "ann@example.com", 9)
    sandbox.segment.stall_requests(1)

    assert controller.sync_now() is True
    assert controller.sync_now() is False

    qtbot.waitUntil(sandbox.segment.request_arrived.is_set, timeout=20_000)
    with qtbot.waitSignal(controller.sync_finished, timeout=20_000):
        sandbox.segment.release()
    assert _sync_runs(profile) == [RunStatus.OK]


def test_the_timer_fires_a_catch_up_sync_at_start_when_the_last_one_is_older_than_a_day(
    qtbot: QtBot, profile: Profile, controller: SyncController, clock: FakeClock
) -> None:
    _synced_at(profile, TODAY_0600 - timedelta(days=2))
    _rated_customer(profile, "ann@example.com", 7)

    with qtbot.waitSignal(controller.sync_finished, timeout=20_000) as finished:
        controller.start()

    assert finished.args[0].automatic is True
    assert finished.args[0].sync.delivered == 1
    # Done for today: the next one is tomorrow's 06:00.
    assert controller.next_due == TODAY_0600 + timedelta(days=1)


def test_no_sync_at_start_when_today_s_sync_already_ran(
    qtbot: QtBot, profile: Profile, controller: SyncController
) -> None:
    _synced_at(profile, TODAY_0600 + timedelta(minutes=1))

    with qtbot.waitSignal(controller.schedule_checked) as checked:
        controller.start()

    assert checked.args == [TODAY_0600 + timedelta(days=1)]
    assert not controller.syncing
    assert _sync_runs(profile) == [RunStatus.OK]  # only the one recorded above


def test_the_heartbeat_timer_starts_the_sync_when_its_time_comes(
    qtbot: QtBot,
    context: AppContext,
    keychain: Keychain,
    sandbox: Sandbox,
    profile: Profile,
    clock: FakeClock,
) -> None:
    clock.now = TODAY_0600 - timedelta(seconds=30)
    _synced_at(profile, TODAY_0600 - timedelta(days=1))
    fast = SyncController(context, keychain, tick_ms=20, zone=lambda: UTC)
    try:
        fast.start()
        assert not fast.syncing
        assert fast.next_due == TODAY_0600

        clock.advance(minutes=1)  # the real QTimer ticks; the fake clock says 06:00:30
        with qtbot.waitSignal(fast.sync_finished, timeout=20_000) as finished:
            pass
    finally:
        fast.stop()

    assert finished.args[0].automatic is True


def test_an_ordinary_tick_does_not_re_read_the_schedule(
    qtbot: QtBot, profile: Profile, controller: SyncController, clock: FakeClock
) -> None:
    _synced_at(profile, TODAY_0600 + timedelta(minutes=1))
    controller.start()
    checks: list[object] = []
    resumes: list[object] = []
    controller.schedule_checked.connect(checks.append)
    controller.resume_detected.connect(lambda: resumes.append(True))

    clock.advance(minutes=1)
    controller.tick()

    assert checks == []
    assert resumes == []


def test_a_wall_clock_gap_between_ticks_triggers_a_re_check_at_once(
    qtbot: QtBot, profile: Profile, controller: SyncController, clock: FakeClock
) -> None:
    _synced_at(profile, TODAY_0600 + timedelta(minutes=1))
    controller.start()
    checks: list[object] = []
    controller.schedule_checked.connect(checks.append)

    clock.advance(hours=8)  # the computer slept
    with qtbot.waitSignal(controller.resume_detected, timeout=1000):
        controller.tick()

    assert checks == [TODAY_0600 + timedelta(days=1)]


def test_the_clock_set_back_also_counts_as_a_gap(
    qtbot: QtBot, profile: Profile, controller: SyncController, clock: FakeClock
) -> None:
    _synced_at(profile, TODAY_0600 + timedelta(minutes=1))
    controller.start()

    clock.advance(hours=-3)
    with qtbot.waitSignal(controller.resume_detected, timeout=1000):
        controller.tick()


def test_waking_after_the_sync_time_runs_the_missed_sync_at_once(
    qtbot: QtBot, profile: Profile, controller: SyncController, clock: FakeClock
) -> None:
    clock.now = TODAY_0600 - timedelta(hours=1)
    _synced_at(profile, TODAY_0600 - timedelta(days=1))
    _rated_customer(profile, "ann@example.com", 10)
    controller.start()
    assert not controller.syncing

    clock.advance(hours=9)  # slept through 06:00
    with (
        qtbot.waitSignal(controller.resume_detected, timeout=1000),
        qtbot.waitSignal(controller.sync_finished, timeout=20_000) as finished,
    ):
        controller.tick()

    assert finished.args[0].sync.delivered == 1


def test_a_sync_segment_refuses_is_reported_and_not_retried_every_minute(
    qtbot: QtBot,
    profile: Profile,
    context: AppContext,
    sandbox: Sandbox,
    clock: FakeClock,
) -> None:
    wrong = Keychain(profile.data_dir, backend=InMemoryKeyring())
    wrong.set(KeyName.SEGMENT, secrets.token_hex(16))
    _rated_customer(profile, "ann@example.com", 3)
    controller = SyncController(context, wrong, zone=lambda: UTC)
    notes: list[tuple[str, str, bool]] = []
    controller.notification.connect(lambda *note: notes.append(note))
    try:
        with qtbot.waitSignal(controller.sync_finished, timeout=20_000) as finished:
            controller.start()
        assert not finished.args[0].ok
        assert notes[-1][0] == "Sync failed"
        assert notes[-1][2] is True
        assert _sync_runs(profile) == [RunStatus.FAILED]

        clock.advance(minutes=1)
        controller.tick()
        assert not controller.syncing  # waiting before the next automatic attempt

        clock.advance(seconds=RETRY_AFTER_FAILURE.total_seconds())
        with qtbot.waitSignal(controller.sync_finished, timeout=20_000):
            controller.tick()
        assert _sync_runs(profile) == [RunStatus.FAILED, RunStatus.FAILED]
    finally:
        controller.stop()


def test_sync_now_without_a_segment_key_says_how_to_set_it(
    qtbot: QtBot, profile: Profile, context: AppContext, sandbox: Sandbox
) -> None:
    empty = Keychain(profile.data_dir, backend=InMemoryKeyring())
    controller = SyncController(context, empty, zone=lambda: UTC)

    with qtbot.waitSignal(controller.sync_failed, timeout=20_000) as failed:
        controller.sync_now()

    error: TaskError = failed.args[0]
    assert "Segment write key" in error.sentence
    assert controller.next_due is None


def test_responses_waiting_at_callexa_are_fetched_before_the_ratings_go_out(
    qtbot: QtBot,
    profile: Profile,
    controller: SyncController,
    keychain: Keychain,
    sandbox: Sandbox,
) -> None:
    keychain.set(KeyName.CALLEXA, secrets.token_hex(16))
    with profile.database.session() as session:
        session.add(Customer(email="bo@example.com", user_id="user-bo"))
    sandbox.callexa.responses.append(
        {
            "id": "rsp_000001",
            "email": "bo@example.com",
            "rating": 10,
            "comment": "Great",
            "answered_at": "2026-11-30T09:00:00Z",
            "sent_at": "2026-11-29T09:00:00Z",
            "survey_key": None,
        }
    )

    with qtbot.waitSignal(controller.sync_finished, timeout=20_000) as finished:
        controller.sync_now()

    result: SyncResult = finished.args[0]
    assert result.pulled is not None
    assert result.pulled.recorded == 1
    assert result.sync.delivered == 1
    assert sandbox.segment.snapshot()[0]["traits"]["NPS_comment"] == "Great"


def _due_survey(profile: Profile, email: str) -> None:
    now = profile.clock()
    with profile.database.session() as session:
        customer = Customer(email=email, user_id=f"user-{email}", first_seen_at=now)
        session.add(customer)
        session.flush()
        assert customer.id is not None
        session.add(
            Survey(
                key=uuid.uuid4().hex,
                customer_id=customer.id,
                send_at=now - timedelta(hours=1),
                planned_at=now - timedelta(days=3),
                reason="scheduled",
            )
        )


def test_auto_send_sends_due_surveys_on_the_tick(
    qtbot: QtBot,
    profile: Profile,
    controller: SyncController,
    keychain: Keychain,
    sandbox: Sandbox,
) -> None:
    keychain.set(KeyName.CALLEXA, secrets.token_hex(16))
    _synced_at(profile, TODAY_0600 + timedelta(minutes=1))
    _due_survey(profile, "cy@example.com")
    with profile.database.session() as session:
        set_setting(session, "auto_send", "on")

    with qtbot.waitSignal(controller.send_finished, timeout=20_000) as finished:
        controller.start()

    assert finished.args[0].sent == 1
    assert [email.email for email in sandbox.callexa.emails] == ["cy@example.com"]
    with profile.database.session() as session:
        assert session.exec(select(Survey.status)).all() == [SurveyStatus.SENT]


def test_without_auto_send_the_tick_sends_nothing(
    qtbot: QtBot,
    profile: Profile,
    controller: SyncController,
    keychain: Keychain,
    sandbox: Sandbox,
    clock: FakeClock,
) -> None:
    keychain.set(KeyName.CALLEXA, secrets.token_hex(16))
    _synced_at(profile, TODAY_0600 + timedelta(minutes=1))
    _due_survey(profile, "cy@example.com")

    controller.start()
    clock.advance(minutes=1)
    controller.tick()

    assert not controller.sending
    assert sandbox.callexa.emails == []


def test_the_window_keeps_answering_during_a_sync_against_a_slow_server(
    qtbot: QtBot, profile: Profile, controller: SyncController, sandbox: Sandbox
) -> None:
    _rated_customer(profile, "ann@example.com", 8)
    sandbox.segment.stall_requests(1)  # the server holds its reply until released
    gaps: list[float] = []
    last = [time.monotonic()]

    def beat() -> None:
        now = time.monotonic()
        gaps.append(now - last[0])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(50)
    heartbeat.timeout.connect(beat)
    try:
        controller.sync_now()
        qtbot.waitUntil(sandbox.segment.request_arrived.is_set, timeout=20_000)
        last[0] = time.monotonic()
        heartbeat.start()
        qtbot.waitUntil(lambda: len(gaps) >= 20, timeout=20_000)  # a second of a held sync
        assert controller.syncing
        with qtbot.waitSignal(controller.sync_finished, timeout=20_000):
            sandbox.segment.release()
    finally:
        heartbeat.stop()

    assert max(gaps) < 0.2, f"the event loop stalled for {max(gaps):.3f} s"


def test_auto_send_with_nothing_due_leaves_no_activity_entry(
    qtbot: QtBot,
    profile: Profile,
    controller: SyncController,
    keychain: Keychain,
    sandbox: Sandbox,
) -> None:
    keychain.set(KeyName.CALLEXA, secrets.token_hex(16))
    _synced_at(profile, TODAY_0600 + timedelta(minutes=1))
    with profile.database.session() as session:
        set_setting(session, "auto_send", "on")

    with qtbot.waitSignal(controller.busy_changed, timeout=20_000):
        controller.start()  # the automatic send starts, finds nothing due, and ends
    qtbot.waitUntil(lambda: not controller.sending, timeout=20_000)

    with profile.database.session() as session:
        assert recent_runs(session, kind=RunKind.SEND) == []
