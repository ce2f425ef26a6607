"""Sending state in the database: due order, recovery, the monthly budget, transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, func, select

from callexa_desktop.core.models import Survey, SurveyStatus
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.sending import (
    BUDGET_RENEWED,
    RunPlan,
    apply_plan,
    budget_remaining,
    claim,
    mark_failed,
    mark_sent,
    month_start,
    plan_run,
    put_back,
    ready_count,
    retry_later,
    sent_this_month,
)
from callexa_desktop.core.settings import Settings
from callexa_desktop.core.survey_reasons import SurveyReason
from tests.conftest import FakeClock
from tests.core.survey_rows import add_surveys, customer_of, statuses, surveys_by_id

UNLIMITED = Settings()


def plan(profile: Profile, settings: Settings = UNLIMITED, now: datetime | None = None) -> RunPlan:
    with profile.database.session() as session:
        return plan_run(session, settings, now or profile.clock())


def apply(profile: Profile, settings: Settings = UNLIMITED) -> None:
    with profile.database.session() as session:
        apply_plan(session, plan_run(session, settings, profile.clock()))


def send_all_planned(profile: Profile, settings: Settings, when: datetime) -> list[int]:
    """Claim and mark sent what a run at ``when`` would send; returns those ids."""
    with profile.database.session() as session:
        run = plan_run(session, settings, when)
        apply_plan(session, run)
    for survey_id in run.send_ids:
        with profile.database.session() as session:
            assert claim(session, survey_id) is not None
            mark_sent(session, survey_id, sent_at=when, callexa_id="x")
    return run.send_ids


def test_due_surveys_are_planned_oldest_first_and_future_ones_wait(
    profile: Profile, clock: FakeClock
) -> None:
    past = add_surveys(
        profile, 3, send_at=clock.now - timedelta(hours=1), step=-timedelta(minutes=1)
    )
    future = add_surveys(profile, 2, send_at=clock.now + timedelta(seconds=1), prefix="f")

    run = plan(profile)

    assert run.send_ids == list(reversed(past))
    assert not set(future) & set(run.send_ids)


def test_a_survey_due_exactly_now_is_sent(profile: Profile, clock: FakeClock) -> None:
    ids = add_surveys(profile, 1, send_at=clock.now)
    assert plan(profile).send_ids == ids


def test_surveys_not_scheduled_are_never_planned(profile: Profile, clock: FakeClock) -> None:
    earlier = clock.now - timedelta(days=1)
    for status, reason in [
        (SurveyStatus.SENT, "scheduled"),
        (SurveyStatus.FAILED, "invalid_recipient"),
        (SurveyStatus.CANCELLED, SurveyReason.CANCELLED_BY_OPERATOR),
        (SurveyStatus.HELD, SurveyReason.HELD_BY_OPERATOR),
    ]:
        add_surveys(profile, 1, send_at=earlier, status=status, reason=reason, prefix=status)

    run = plan(profile)
    assert (run.send_ids, run.hold_ids, run.release_ids) == ([], [], [])


def test_surveys_left_sending_by_a_crash_are_recovered_first_in_line(
    profile: Profile, clock: FakeClock
) -> None:
    stuck = add_surveys(profile, 1, send_at=clock.now - timedelta(hours=2), status="sending")
    waiting = add_surveys(profile, 1, send_at=clock.now - timedelta(hours=1), prefix="w")

    run = plan(profile)
    with profile.database.session() as session:
        assert ready_count(session, clock.now) == 2
    apply(profile)

    assert run.recover_ids == stuck
    assert run.send_ids == stuck + waiting
    assert statuses(profile, stuck) == [SurveyStatus.SCHEDULED]


def test_a_survey_waiting_for_its_retry_time_is_not_planned_until_then(
    profile: Profile, clock: FakeClock
) -> None:
    [survey_id] = add_surveys(profile, 1, send_at=clock.now - timedelta(hours=1))
    with profile.database.session() as session:
        claim(session, survey_id)
        retry_at = retry_later(session, survey_id, now=clock.now, message="Callexa had a problem.")

    assert plan(profile).send_ids == []
    assert plan(profile).waiting == 1
    assert plan(profile, now=retry_at).send_ids == [survey_id]
    with profile.database.session() as session:
        assert (ready_count(session, clock.now), ready_count(session, retry_at)) == (0, 1)


def test_retry_delays_double_per_failed_run_and_are_capped(
    profile: Profile, clock: FakeClock
) -> None:
    [survey_id] = add_surveys(profile, 1, send_at=clock.now)
    delays = []
    for _ in range(9):
        with profile.database.session() as session:
            claim(session, survey_id)
            delays.append(retry_later(session, survey_id, now=clock.now, message="x") - clock.now)

    assert delays[:3] == [timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20)]
    assert delays[-1] == timedelta(hours=6)
    assert surveys_by_id(profile)[survey_id].last_error == "x"


def test_a_claimed_survey_cannot_be_claimed_again(profile: Profile, clock: FakeClock) -> None:
    [survey_id] = add_surveys(profile, 1, send_at=clock.now)
    with profile.database.session() as session:
        first = claim(session, survey_id)
    with profile.database.session() as session:
        second = claim(session, survey_id)

    assert first is not None
    assert (first.email, first.first_name, first.user_id) == ("c0@example.com", "First0", "u-c0")
    assert second is None
    assert surveys_by_id(profile)[survey_id].attempts == 1


def test_sending_moves_the_customers_last_surveyed_time_forward_only(
    profile: Profile, clock: FakeClock
) -> None:
    first, second = add_surveys(profile, 2, send_at=clock.now)
    with profile.database.session() as session:
        mark_sent(session, first, sent_at=clock.now, callexa_id="svy_1")
    assert customer_of(profile, first).last_surveyed_at == clock.now

    with profile.database.session() as session:
        customer = customer_of(profile, second)
        customer.last_surveyed_at = clock.now + timedelta(days=3)
        session.add(customer)
    with profile.database.session() as session:
        mark_sent(session, second, sent_at=clock.now, callexa_id="svy_2")

    sent = surveys_by_id(profile)[first]
    assert (sent.status, sent.sent_at, sent.callexa_id) == ("sent", clock.now, "svy_1")
    assert customer_of(profile, second).last_surveyed_at == clock.now + timedelta(days=3)


def test_a_permanent_failure_is_recorded_with_its_reason(
    profile: Profile, clock: FakeClock
) -> None:
    [survey_id] = add_surveys(profile, 1, send_at=clock.now)
    with profile.database.session() as session:
        claim(session, survey_id)
        mark_failed(session, survey_id, reason="invalid_recipient", message="Refused (422).")

    failed = surveys_by_id(profile)[survey_id]
    assert (failed.status, failed.reason, failed.last_error) == (
        "failed",
        "invalid_recipient",
        "Refused (422).",
    )
    assert plan(profile).send_ids == []


def test_putting_a_survey_back_does_not_count_the_attempt(
    profile: Profile, clock: FakeClock
) -> None:
    [survey_id] = add_surveys(profile, 1, send_at=clock.now)
    with profile.database.session() as session:
        claim(session, survey_id)
        put_back(session, survey_id, message="Key refused.")

    back = surveys_by_id(profile)[survey_id]
    assert (back.status, back.attempts, back.last_error) == ("scheduled", 0, "Key refused.")


def test_the_budget_counts_surveys_sent_this_calendar_month_in_utc(
    profile: Profile, clock: FakeClock
) -> None:
    late_november = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    ids = add_surveys(profile, 2, send_at=late_november - timedelta(days=1))
    with profile.database.session() as session:
        for survey_id in ids:
            claim(session, survey_id)
            mark_sent(session, survey_id, sent_at=late_november, callexa_id=None)

    settings = Settings(monthly_budget=5)
    with profile.database.session() as session:
        assert sent_this_month(session, late_november) == 2
        assert budget_remaining(session, settings, late_november) == 3
        # 00:10 UTC on 1 December is a new month even where it is still 30 November.
        december = datetime(2026, 12, 1, 0, 10, tzinfo=UTC)
        assert sent_this_month(session, december) == 0
        assert budget_remaining(session, settings, december) == 5
        assert budget_remaining(session, Settings(monthly_budget=0), december) is None
    assert month_start(december) == datetime(2026, 12, 1, tzinfo=UTC)


def test_due_surveys_beyond_the_budget_are_held_and_released_next_month(
    profile: Profile, clock: FakeClock
) -> None:
    settings = Settings(monthly_budget=3)
    ids = add_surveys(profile, 5, send_at=clock.now - timedelta(hours=1))

    assert send_all_planned(profile, settings, clock.now) == ids[:3]
    assert statuses(profile, ids) == ["sent"] * 3 + ["held"] * 2
    assert {surveys_by_id(profile)[i].reason for i in ids[3:]} == {SurveyReason.MONTHLY_BUDGET}
    assert send_all_planned(profile, settings, clock.now + timedelta(hours=1)) == []

    clock.now = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
    assert send_all_planned(profile, settings, clock.now) == ids[3:]
    assert {surveys_by_id(profile)[i].reason for i in ids[3:]} == {BUDGET_RENEWED}


def test_a_raised_budget_releases_held_surveys_within_the_month(
    profile: Profile, clock: FakeClock
) -> None:
    ids = add_surveys(profile, 3, send_at=clock.now - timedelta(hours=1))
    send_all_planned(profile, Settings(monthly_budget=1), clock.now)

    run = plan(profile, Settings(monthly_budget=2))

    assert run.release_ids == [ids[1]]
    assert run.send_ids == [ids[1]]
    assert run.hold_ids == []  # ids[2] is already held: nothing to change


def test_operator_holds_are_never_released_by_the_budget(
    profile: Profile, clock: FakeClock
) -> None:
    add_surveys(
        profile,
        1,
        send_at=clock.now - timedelta(days=40),
        status=SurveyStatus.HELD,
        reason=SurveyReason.HELD_BY_OPERATOR,
    )
    apply(profile, Settings(monthly_budget=10))

    with profile.database.session() as session:
        assert _count(session, SurveyStatus.HELD) == 1


def test_planning_changes_nothing_until_applied(profile: Profile, clock: FakeClock) -> None:
    ids = add_surveys(profile, 3, send_at=clock.now - timedelta(hours=1))
    add_surveys(profile, 1, send_at=clock.now - timedelta(hours=2), status="sending", prefix="s")
    before = {i: (s.status, s.reason) for i, s in surveys_by_id(profile).items()}

    run = plan(profile, Settings(monthly_budget=2))

    assert len(run.hold_ids) == 2
    assert {i: (s.status, s.reason) for i, s in surveys_by_id(profile).items()} == before
    assert ids[0] in run.send_ids


def _count(session: Session, status: str) -> int:
    return int(session.exec(select(func.count()).where(col(Survey.status) == status)).one())
