"""Sending due surveys through the sandbox on 127.0.0.1: retries, refusals, budget, recovery."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from callexa_desktop.core.activity import recent_runs
from callexa_desktop.core.models import ActivityRun, SurveyStatus
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.settings import set_setting
from callexa_desktop.services.callexa import CallexaClient, Recipient, idempotency_key_for
from callexa_desktop.services.sandbox import Sandbox
from callexa_desktop.services.sending import RetryPolicy, StopReason, send_due
from tests.conftest import FakeClock
from tests.core.survey_rows import add_surveys, customer_of, statuses, surveys_by_id


@pytest.fixture
def api_key() -> str:
    return secrets.token_hex(16)


@pytest.fixture
def sandbox(api_key: str, clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox(callexa_api_key=api_key, clock=clock) as running:
        yield running


@pytest.fixture
def client(sandbox: Sandbox, api_key: str) -> Iterator[CallexaClient]:
    with CallexaClient(sandbox.callexa_base_url, api_key, timeout=5) as opened:
        yield opened


class Sleeps(list[float]):
    """Records the waits a run asks for instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def due(profile: Profile, clock: FakeClock, count: int, prefix: str = "c") -> list[int]:
    return add_surveys(profile, count, send_at=clock.now - timedelta(hours=1), prefix=prefix)


def emails_per_survey(sandbox: Sandbox, profile: Profile, ids: list[int]) -> list[int]:
    counts = sandbox.callexa.emails_per_idempotency_key()
    rows = surveys_by_id(profile)
    return [counts[idempotency_key_for(rows[i].key)] for i in ids]


def set_budget(profile: Profile, budget: int) -> None:
    with profile.database.session() as session:
        set_setting(session, "monthly_budget", str(budget))


def test_every_due_survey_is_emailed_once_oldest_first(
    profile: Profile, client: CallexaClient, sandbox: Sandbox, clock: FakeClock, sleeps: Sleeps
) -> None:
    ids = due(profile, clock, 4)
    progress: list[tuple[int, int]] = []

    summary = send_due(profile, client, progress=lambda *p: progress.append(p), sleep=sleeps)

    assert (summary.sent, summary.failed, summary.ok) == (4, 0, True)
    assert [e.email for e in sandbox.callexa.emails] == [f"c{n}@example.com" for n in range(4)]
    assert emails_per_survey(sandbox, profile, ids) == [1, 1, 1, 1]
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    rows = surveys_by_id(profile)
    assert {(rows[i].status, rows[i].sent_at) for i in ids} == {("sent", clock.now)}
    assert rows[ids[0]].callexa_id == "svy_000001"
    assert customer_of(profile, ids[0]).last_surveyed_at == clock.now
    assert sleeps == []


def test_the_run_is_recorded_in_the_activity_history(
    profile: Profile, client: CallexaClient, clock: FakeClock
) -> None:
    due(profile, clock, 2)
    summary = send_due(profile, client)

    with profile.database.session() as session:
        [run] = recent_runs(session, kind="send")
    assert (run.id, run.status, run.message) == (summary.run_id, "ok", "Sent 2 surveys.")
    assert json.loads(run.summary)["sent"] == 2


def test_a_second_run_with_nothing_due_sends_nothing(
    profile: Profile, client: CallexaClient, sandbox: Sandbox, clock: FakeClock
) -> None:
    due(profile, clock, 2)
    send_due(profile, client)
    again = send_due(profile, client)

    assert (again.due, again.sent) == (0, 0)
    assert sandbox.callexa.send_requests == 2


def test_server_trouble_is_retried_with_backoff_and_then_succeeds(
    profile: Profile, client: CallexaClient, sandbox: Sandbox, clock: FakeClock, sleeps: Sleeps
) -> None:
    ids = due(profile, clock, 1)
    sandbox.faults.fail_next(2, 503)

    summary = send_due(profile, client, sleep=sleeps)

    assert summary.sent == 1
    assert sleeps == [1.0, 2.0]
    assert emails_per_survey(sandbox, profile, ids) == [1]


def test_retry_after_of_a_429_is_honoured(
    profile: Profile, client: CallexaClient, sandbox: Sandbox, clock: FakeClock, sleeps: Sleeps
) -> None:
    due(profile, clock, 1)
    sandbox.faults.fail_next(1, 429, retry_after="7")

    assert send_due(profile, client, sleep=sleeps).sent == 1
    assert sleeps == [7.0]


def test_a_huge_retry_after_is_capped(
    profile: Profile, client: CallexaClient, sandbox: Sandbox, clock: FakeClock, sleeps: Sleeps
) -> None:
    due(profile, clock, 1)
    sandbox.faults.fail_next(1, 429, retry_after="86400")

    send_due(profile, client, sleep=sleeps, policy=RetryPolicy(max_retry_after=60))
    assert sleeps == [60.0]


def test_a_reply_lost_after_the_email_went_out_is_retried_without_a_second_email(
    profile: Profile, client: CallexaClient, sandbox: Sandbox, clock: FakeClock, sleeps: Sleeps
) -> None:
    ids = due(profile, clock, 2)
    sandbox.faults.drop_next(after_handling=True)

    summary = send_due(profile, client, sleep=sleeps)

    assert (summary.sent, summary.replayed) == (2, 1)
    assert emails_per_survey(sandbox, profile, ids) == [1, 1]
    assert sandbox.callexa.send_requests == 3


def test_a_slow_reply_times_out_and_the_retry_sends_no_second_email(
    profile: Profile, sandbox: Sandbox, api_key: str, clock: FakeClock, sleeps: Sleeps
) -> None:
    ids = due(profile, clock, 1)
    held = sandbox.faults.hold_next(after_handling=True)
    with CallexaClient(sandbox.callexa_base_url, api_key, timeout=0.3) as impatient:
        summary = send_due(profile, impatient, sleep=sleeps)
    held.release()

    assert held.arrived.is_set()
    assert (summary.sent, summary.replayed) == (1, 1)
    assert emails_per_survey(sandbox, profile, ids) == [1]


def test_transient_failures_that_persist_leave_the_survey_for_a_later_run(
    profile: Profile, client: CallexaClient, sandbox: Sandbox, clock: FakeClock, sleeps: Sleeps
) -> None:
    ids = due(profile, clock, 2)
    sandbox.faults.fail_next(4, 503)

    first = send_due(profile, client, sleep=sleeps)

    assert (first.sent, first.retry_later, first.ok) == (1, 1, True)
    waiting = surveys_by_id(profile)[ids[0]]
    assert waiting.status == SurveyStatus.SCHEDULED
    assert waiting.next_attempt_at == clock.now + timedelta(minutes=5)
    assert "503" in (waiting.last_error or "")
    assert send_due(profile, client, sleep=sleeps).due == 0  # not before its time

    clock.advance(minutes=5)
    later = send_due(profile, client, sleep=sleeps)
    assert later.sent == 1
    assert emails_per_survey(sandbox, profile, ids) == [1, 1]


def test_the_run_stops_when_callexa_stays_unreachable(
    profile: Profile, client: CallexaClient, sandbox: Sandbox, clock: FakeClock, sleeps: Sleeps
) -> None:
    ids = due(profile, clock, 5)
    sandbox.faults.fail_next(100, 503)

    summary = send_due(profile, client, sleep=sleeps, policy=RetryPolicy(attempts=2))

    assert (summary.retry_later, summary.not_attempted) == (3, 2)
    assert summary.stop_reason == StopReason.UNREACHABLE
    assert not summary.ok
    assert statuses(profile, ids) == [SurveyStatus.SCHEDULED] * 5
    assert sandbox.callexa.emails == []


def test_an_invalid_recipient_fails_permanently_and_is_not_retried(
    profile: Profile, client: CallexaClient, sandbox: Sandbox, clock: FakeClock, sleeps: Sleeps
) -> None:
    ids = due(profile, clock, 2)
    sandbox.callexa.refuse_recipients(lambda email: email == "c0@example.com")

    summary = send_due(profile, client, sleep=sleeps)
    again = send_due(profile, client, sleep=sleeps)

    assert (summary.sent, summary.failed, summary.ok) == (1, 1, True)
    assert summary.failures[0]["email"] == "c0@example.com"
    failed = surveys_by_id(profile)[ids[0]]
    assert (failed.status, failed.reason) == ("failed", "invalid_recipient")
    assert "422" in (failed.last_error or "")
    assert (again.due, sandbox.callexa.send_requests, sleeps) == (0, 2, [])


def test_already_surveyed_counts_as_sent_and_moves_the_interval_forward(
    profile: Profile, client: CallexaClient, sandbox: Sandbox, clock: FakeClock, sleeps: Sleeps
) -> None:
    [survey_id] = due(profile, clock, 1)
    earlier = clock.now - timedelta(days=2)
    sandbox.callexa.mark_already_surveyed("c0@example.com", earlier)

    summary = send_due(profile, client, sleep=sleeps)

    row = surveys_by_id(profile)[survey_id]
    assert (summary.already_surveyed, summary.sent) == (1, 0)
    assert (row.status, row.reason, row.sent_at) == ("sent", "already_surveyed", earlier)
    assert "409" in (row.last_error or "")
    assert customer_of(profile, survey_id).last_surveyed_at == earlier
    assert sandbox.callexa.send_requests == 1


def test_a_rejected_key_stops_the_run_and_leaves_every_survey_scheduled(
    profile: Profile, sandbox: Sandbox, clock: FakeClock, sleeps: Sleeps
) -> None:
    ids = due(profile, clock, 3)
    wrong = secrets.token_hex(16)
    with CallexaClient(sandbox.callexa_base_url, wrong) as client:
        summary = send_due(profile, client, sleep=sleeps)

    assert summary.stop_reason == StopReason.KEY_REJECTED
    assert "keys set callexa" in (summary.stopped or "")
    assert wrong not in (summary.stopped or "")
    assert (summary.sent, summary.not_attempted) == (0, 2)
    assert statuses(profile, ids) == [SurveyStatus.SCHEDULED] * 3
    assert [s.attempts for s in surveys_by_id(profile).values()] == [0, 0, 0]
    with profile.database.session() as session:
        assert recent_runs(session, kind="send")[0].status == "failed"


def test_a_wrong_address_stops_the_run_without_failing_surveys(
    profile: Profile, sandbox: Sandbox, api_key: str, clock: FakeClock
) -> None:
    ids = due(profile, clock, 2)
    with CallexaClient(sandbox.url + "/not-callexa", api_key) as client:
        summary = send_due(profile, client)

    assert summary.stop_reason == StopReason.REFUSED
    assert "404" in (summary.stopped or "")
    assert statuses(profile, ids) == [SurveyStatus.SCHEDULED] * 2


def test_the_monthly_budget_holds_the_surplus_until_next_month(
    profile: Profile, client: CallexaClient, sandbox: Sandbox, clock: FakeClock
) -> None:
    set_budget(profile, 2)
    ids = due(profile, clock, 3)

    november = send_due(profile, client)
    assert (november.sent, november.held, november.budget_remaining) == (2, 1, 2)
    assert statuses(profile, ids) == ["sent", "sent", "held"]

    clock.now = datetime(2026, 12, 1, 0, 1, tzinfo=UTC)
    december = send_due(profile, client)
    assert (december.released, december.sent) == (1, 1)
    assert emails_per_survey(sandbox, profile, ids) == [1, 1, 1]


def test_callexa_running_out_of_budget_holds_the_remaining_surveys(
    profile: Profile, client: CallexaClient, sandbox: Sandbox, clock: FakeClock
) -> None:
    sandbox.callexa.set_budget(1)
    ids = due(profile, clock, 3)

    summary = send_due(profile, client)

    assert (summary.sent, summary.held, summary.ok) == (1, 2, True)
    assert summary.stop_reason == StopReason.MONTHLY_BUDGET
    assert statuses(profile, ids) == ["sent", "held", "held"]
    assert {surveys_by_id(profile)[i].reason for i in ids[1:]} == {"monthly_budget"}

    clock.now = datetime(2026, 12, 1, 0, 1, tzinfo=UTC)
    assert send_due(profile, client).sent == 1  # Callexa's budget allows one again


def test_a_dry_run_changes_nothing_and_calls_nobody(
    profile: Profile, sandbox: Sandbox, clock: FakeClock
) -> None:
    set_budget(profile, 2)
    due(profile, clock, 3)
    add_surveys(profile, 1, send_at=clock.now - timedelta(hours=2), status="sending", prefix="s")
    before = {i: s.model_dump() for i, s in surveys_by_id(profile).items()}

    summary = send_due(profile, None, dry_run=True)

    assert (summary.dry_run, summary.due, summary.held, summary.recovered) == (True, 2, 2, 1)
    assert summary.sentence().startswith("Would send 2 surveys")
    assert {i: s.model_dump() for i, s in surveys_by_id(profile).items()} == before
    with profile.database.session() as session:
        assert list(session.exec(select(ActivityRun))) == []
    assert sandbox.callexa.send_requests == 0


def test_cancelling_stops_before_the_next_survey(
    profile: Profile, client: CallexaClient, clock: FakeClock
) -> None:
    ids = due(profile, clock, 3)
    done: list[int] = []

    summary = send_due(
        profile, client, progress=lambda n, _: done.append(n), should_cancel=lambda: bool(done)
    )

    assert (summary.sent, summary.not_attempted, summary.cancelled) == (1, 2, True)
    assert statuses(profile, ids) == ["sent", "scheduled", "scheduled"]
    with profile.database.session() as session:
        assert recent_runs(session, kind="send")[0].status == "cancelled"


def test_a_survey_left_sending_after_its_email_went_out_is_not_emailed_again(
    profile: Profile, client: CallexaClient, sandbox: Sandbox, clock: FakeClock
) -> None:
    [survey_id] = add_surveys(profile, 1, send_at=clock.now - timedelta(hours=1), status="sending")
    row = surveys_by_id(profile)[survey_id]
    # The crashed run's request reached Callexa; only its reply was lost.
    client.send_survey(Recipient("c0@example.com"), survey_key=row.key)

    summary = send_due(profile, client)

    assert (summary.recovered, summary.sent, summary.replayed) == (1, 1, 1)
    assert emails_per_survey(sandbox, profile, [survey_id]) == [1]
    assert statuses(profile, [survey_id]) == ["sent"]


def test_cancelling_cuts_a_long_retry_wait_short(
    profile: Profile, client: CallexaClient, sandbox: Sandbox, clock: FakeClock
) -> None:
    due(profile, clock, 2)
    sandbox.faults.fail_next(1, 429, retry_after="120")
    asked: list[bool] = []

    def should_cancel() -> bool:
        # False before the survey and after its 429; true once the wait has begun.
        asked.append(True)
        return len(asked) >= 3

    started = time.monotonic()
    summary = send_due(profile, client, should_cancel=should_cancel)  # the real, default wait

    assert time.monotonic() - started < 60
    assert (summary.sent, summary.cancelled, summary.not_attempted) == (1, True, 1)
