"""Re-plan: after the delay rules change, waiting surveys are decided again, preview first."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import select

from callexa_desktop.core.importing import import_items
from callexa_desktop.core.models import Survey, SurveyStatus
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.queue import (
    ReplanChange,
    apply_replan,
    cancel_surveys,
    list_surveys,
    plan_replan,
)
from callexa_desktop.core.records import IdentifyRecord
from callexa_desktop.core.settings import Settings
from callexa_desktop.core.survey_reasons import SurveyReason
from tests.conftest import FIXED_NOW
from tests.core.queue_builders import add_customer, add_identify, add_survey

NOW = FIXED_NOW
DAY = timedelta(days=1)
WEEK = timedelta(weeks=1)
# The rules the fixture's surveys were planned with.
PLANNED_WITH = Settings(min_delay_days=0, max_delay_days=0, min_interval_weeks=4)


@pytest.fixture
def waiting(profile: Profile) -> dict[str, int]:
    """Surveys as the import would have planned them under PLANNED_WITH; ids by name."""
    rows = {
        # name: (created_at, identify time, last surveyed, status, reason)
        "old": (NOW - 30 * DAY, NOW - DAY, None, SurveyStatus.SCHEDULED, "scheduled"),
        "new": (NOW - 2 * DAY, NOW - 2 * DAY, None, SurveyStatus.SCHEDULED, "scheduled"),
        "recent": (None, NOW - DAY, NOW - 10 * WEEK, SurveyStatus.SCHEDULED, "scheduled"),
        "budget": (NOW - DAY, NOW - DAY, None, SurveyStatus.HELD, SurveyReason.MONTHLY_BUDGET),
    }
    ids = {}
    with profile.database.session() as session:
        for name, (created, identified, surveyed, status, reason) in rows.items():
            customer = add_customer(
                session, f"{name}@example.com", created_at=created, last_surveyed_at=surveyed
            )
            identify = add_identify(session, customer, event_at=identified, created_at=created)
            # min delay 0: send_at = max(createdAt, T) = T
            survey = add_survey(
                session,
                customer,
                send_at=identified,
                status=status,
                reason=reason,
                identify=identify,
            )
            assert survey.id is not None
            ids[name] = survey.id
    return ids


def _survey(profile: Profile, survey_id: int) -> Survey:
    with profile.database.session() as session:
        survey = session.get(Survey, survey_id)
        assert survey is not None
        return survey


def _all_surveys(profile: Profile) -> list[tuple[int | None, str, object, str]]:
    with profile.database.session() as session:
        return [(s.id, s.status, s.send_at, s.reason) for s in session.exec(select(Survey))]


@pytest.mark.usefixtures("waiting")
def test_the_same_rules_change_nothing(profile: Profile) -> None:
    with profile.database.session() as session:
        plan = plan_replan(session, PLANNED_WITH, NOW)
    assert len(plan.changes) == 0
    assert (plan.checked, plan.unchanged) == (4, 4)
    assert plan.in_words() == "Nothing to change among the 4 surveys waiting to be sent."


def test_raising_the_minimum_delay_moves_new_customers_later(
    profile: Profile, waiting: dict[str, int]
) -> None:
    raised = replace(PLANNED_WITH, min_delay_days=3)
    with profile.database.session() as session:
        plan = plan_replan(session, raised, NOW)
    # "new" was created 2 days ago and "budget" 1 day ago: both now go 3 days after creation;
    # "recent" has no createdAt, so 3 days after its identify; "old" is long past 3 days.
    # Budget-held first, then scheduled ones by send time.
    assert list(plan.changes) == [
        ReplanChange(
            survey_id=waiting["budget"],
            email="budget@example.com",
            old_send_at=NOW - DAY,
            new_send_at=NOW + 2 * DAY,
            new_status=SurveyStatus.SCHEDULED,
            reason=SurveyReason.REPLANNED,
            old_status=SurveyStatus.HELD,
        ),
        ReplanChange(
            survey_id=waiting["new"],
            email="new@example.com",
            old_send_at=NOW - 2 * DAY,
            new_send_at=NOW + DAY,
            new_status=SurveyStatus.SCHEDULED,
            reason=SurveyReason.REPLANNED,
        ),
        ReplanChange(
            survey_id=waiting["recent"],
            email="recent@example.com",
            old_send_at=NOW - DAY,
            new_send_at=NOW + 2 * DAY,
            new_status=SurveyStatus.SCHEDULED,
            reason=SurveyReason.REPLANNED,
        ),
    ]
    assert plan.in_words() == "3 surveys move to a new time."


def test_the_preview_writes_nothing(profile: Profile, waiting: dict[str, int]) -> None:
    before = _all_surveys(profile)
    with profile.database.session() as session:
        plan = plan_replan(session, replace(PLANNED_WITH, min_delay_days=3, max_delay_days=14), NOW)
    assert len(plan.changes) == 4
    assert plan.in_words() == (
        "3 surveys move to a new time; "
        "1 survey is cancelled (1 because the customer is now too old)."
    )
    assert _all_surveys(profile) == before


def test_applying_moves_the_surveys_and_frees_budget_held_ones(
    profile: Profile, waiting: dict[str, int]
) -> None:
    with profile.database.session() as session:
        plan = plan_replan(session, replace(PLANNED_WITH, min_delay_days=3), NOW)
        assert apply_replan(session, plan) == 3
    new, budget = _survey(profile, waiting["new"]), _survey(profile, waiting["budget"])
    assert (new.status, new.send_at, new.reason) == (
        SurveyStatus.SCHEDULED,
        NOW + DAY,
        SurveyReason.REPLANNED,
    )
    assert (budget.status, budget.send_at) == (SurveyStatus.SCHEDULED, NOW + 2 * DAY)
    assert _survey(profile, waiting["old"]).send_at == NOW - DAY


def test_lowering_the_maximum_delay_cancels_customers_now_too_old(
    profile: Profile, waiting: dict[str, int]
) -> None:
    with profile.database.session() as session:
        plan = plan_replan(session, replace(PLANNED_WITH, max_delay_days=14), NOW)
        assert [c.survey_id for c in plan.changes] == [waiting["old"]]
        assert plan.changes[0].new_send_at is None
        assert plan.in_words() == "1 survey is cancelled (1 because the customer is now too old)."
        assert apply_replan(session, plan) == 1
    old = _survey(profile, waiting["old"])
    assert (old.status, old.reason) == (SurveyStatus.CANCELLED, "replan_skipped_too_old")
    assert _survey(profile, waiting["new"]).status == SurveyStatus.SCHEDULED


def test_a_longer_interval_cancels_customers_surveyed_too_recently(
    profile: Profile, waiting: dict[str, int]
) -> None:
    with profile.database.session() as session:
        plan = plan_replan(session, replace(PLANNED_WITH, min_interval_weeks=26), NOW)
        apply_replan(session, plan)
    recent = _survey(profile, waiting["recent"])
    assert (recent.status, recent.reason) == (SurveyStatus.CANCELLED, "replan_skipped_interval")
    assert plan.cancelled == {"skipped_interval": 1}


def test_operator_choices_and_surveys_in_flight_are_left_alone(profile: Profile) -> None:
    states = [
        (SurveyStatus.HELD, SurveyReason.HELD_BY_OPERATOR),
        (SurveyStatus.SCHEDULED, SurveyReason.RESCHEDULED_BY_OPERATOR),
        (SurveyStatus.SCHEDULED, SurveyReason.SEND_NOW_BY_OPERATOR),
        (SurveyStatus.SENDING, "scheduled"),
        (SurveyStatus.SENT, "scheduled"),
    ]
    with profile.database.session() as session:
        for n, (status, reason) in enumerate(states):
            customer = add_customer(session, f"c{n}@example.com", created_at=NOW - 60 * DAY)
            identify = add_identify(session, customer, event_at=NOW, created_at=NOW - 60 * DAY)
            add_survey(
                session, customer, send_at=NOW, status=status, reason=reason, identify=identify
            )
    before = _all_surveys(profile)
    with profile.database.session() as session:
        # Every one of them would be too old under these rules.
        plan = plan_replan(session, replace(PLANNED_WITH, max_delay_days=7), NOW)
        assert apply_replan(session, plan) == 0
    assert (plan.checked, plan.kept, len(plan.changes)) == (3, 3, 0)
    assert _all_surveys(profile) == before


def test_a_survey_without_its_identify_record_is_left_alone(profile: Profile) -> None:
    with profile.database.session() as session:
        add_survey(session, add_customer(session, "lost@example.com"), send_at=NOW)
        plan = plan_replan(session, replace(PLANNED_WITH, min_delay_days=5), NOW)
    assert (plan.checked, plan.unplannable, len(plan.changes)) == (1, 1, 0)


def test_applying_an_old_preview_skips_surveys_changed_since(
    profile: Profile, waiting: dict[str, int]
) -> None:
    with profile.database.session() as session:
        plan = plan_replan(session, replace(PLANNED_WITH, min_delay_days=3, max_delay_days=14), NOW)
    with profile.database.session() as session:
        cancel_surveys(session, [waiting["new"]], now=NOW)
    with profile.database.session() as session:
        assert apply_replan(session, plan) == 3  # "old" cancelled, "recent" and "budget" moved
        assert apply_replan(session, plan) == 0  # nothing is as the preview saw it any more
    new = _survey(profile, waiting["new"])
    assert (new.status, new.reason) == (SurveyStatus.CANCELLED, SurveyReason.CANCELLED_BY_OPERATOR)


@pytest.mark.usefixtures("waiting")
def test_the_preview_reports_progress_to_the_end(profile: Profile) -> None:
    reports: list[tuple[int, int]] = []
    with profile.database.session() as session:
        plan_replan(
            session, PLANNED_WITH, NOW, progress=lambda done, total: reports.append((done, total))
        )
    assert reports[-1] == (4, 4)


def test_changes_read_like_a_list(profile: Profile) -> None:
    with profile.database.session() as session:
        for n in range(7):
            customer = add_customer(session, f"ünïcode{n}@example.com", created_at=NOW - DAY * n)
            identify = add_identify(session, customer, event_at=NOW, created_at=NOW - DAY * n)
            add_survey(session, customer, send_at=NOW, identify=identify)
        plan = plan_replan(session, replace(PLANNED_WITH, min_delay_days=10), NOW)
    changes = plan.changes
    as_list = list(changes)
    assert len(changes) == len(as_list) == 7
    assert changes[-1] == as_list[-1]
    assert changes[2:5] == as_list[2:5]
    assert [c.email for c in as_list] == [f"ünïcode{n}@example.com" for n in range(7)]
    assert [c.new_send_at for c in as_list] == [NOW + DAY * (10 - n) for n in range(7)]
    with pytest.raises(IndexError):
        changes[7]


def test_lowering_the_minimum_delay_can_make_surveys_due_at_once(profile: Profile) -> None:
    with profile.database.session() as session:
        customer = add_customer(session, "soon@example.com", created_at=NOW - DAY)
        identify = add_identify(session, customer, event_at=NOW - DAY, created_at=NOW - DAY)
        # Planned with a 5-day minimum delay.
        add_survey(session, customer, send_at=NOW + 4 * DAY, identify=identify)
        plan = plan_replan(session, PLANNED_WITH, NOW)
    assert plan.changes[0].new_send_at == NOW - DAY
    assert plan.in_words() == "1 survey moves to a new time (1 due at once)."


def test_surveys_planned_by_an_import_are_replanned_and_listed(profile: Profile) -> None:
    records = [
        IdentifyRecord(
            email=f"{name}@example.com",
            event_at=NOW - DAY,
            created_at=NOW - age * DAY,
            message_key=f"m-{name}",
            source="feed",
            line=n + 1,
        )
        for n, (name, age) in enumerate((("fresh", 1), ("stale", 40)))
    ]
    import_items(profile, records, source="feed")
    with profile.database.session() as session:
        assert [row.email for row in list_surveys(session, status="due", now=NOW)] == [
            "fresh@example.com",
            "stale@example.com",
        ]
        plan = plan_replan(session, replace(PLANNED_WITH, min_delay_days=2, max_delay_days=30), NOW)
        assert apply_replan(session, plan) == 2
        rows = {row.email: row for row in list_surveys(session)}
    assert (rows["fresh@example.com"].status, rows["fresh@example.com"].send_at) == (
        SurveyStatus.SCHEDULED,
        NOW + DAY,
    )
    assert rows["stale@example.com"].reason == "replan_skipped_too_old"
