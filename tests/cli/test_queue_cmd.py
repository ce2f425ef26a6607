"""``queue``: the contract's JSON, a table for people, actions by id and re-plan from scripts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from callexa_desktop.cli.main import main
from callexa_desktop.core.models import Survey, SurveyStatus
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.settings import set_setting
from callexa_desktop.core.survey_reasons import SurveyReason
from tests.core.queue_builders import add_customer, add_identify, add_survey

# The command runs on the real clock, so times sit far in the past or future.
PAST = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
FUTURE = datetime(2099, 6, 7, 8, 9, 10, 500_000, tzinfo=UTC)


@pytest.fixture
def surveys(data_dir: Path) -> dict[str, int]:
    """A due survey, a future one, and a sent one; ids by customer."""
    profile = Profile.open(data_dir)
    ids = {}
    with profile.database.session() as session:
        for name, send_at, status, fields in (
            ("ann", PAST, SurveyStatus.SCHEDULED, {"user_id": "u-ann", "name": "Ann Smith"}),
            ("bob", FUTURE, SurveyStatus.SCHEDULED, {}),
            ("cy", PAST - timedelta(days=1), SurveyStatus.SENT, {"user_id": "u-cy"}),
        ):
            customer = add_customer(session, f"{name}@example.com", **fields)
            survey = add_survey(session, customer, send_at=send_at, status=status)
            assert survey.id is not None
            ids[name] = survey.id
    profile.close()
    return ids


def run(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), "queue", *args])


def stored(data_dir: Path, survey_id: int) -> Survey:
    profile = Profile.open(data_dir)
    try:
        with profile.database.session() as session:
            survey = session.get(Survey, survey_id)
            assert survey is not None
            return survey
    finally:
        profile.close()


def test_json_lists_exactly_the_contract_fields_with_utc_times(
    data_dir: Path, surveys: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(data_dir, "--json") == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == [
        {
            "id": surveys["cy"],
            "email": "cy@example.com",
            "user_id": "u-cy",
            "status": "sent",
            "send_at": "2020-01-01T03:04:05Z",
            "reason": "scheduled",
        },
        {
            "id": surveys["ann"],
            "email": "ann@example.com",
            "user_id": "u-ann",
            "status": "scheduled",
            "send_at": "2020-01-02T03:04:05Z",
            "reason": "scheduled",
        },
        {
            "id": surveys["bob"],
            "email": "bob@example.com",
            "user_id": None,
            "status": "scheduled",
            "send_at": "2099-06-07T08:09:10.500Z",
            "reason": "scheduled",
        },
    ]
    assert err == ""


@pytest.mark.parametrize(
    ("status", "expected"),
    [("scheduled", ["ann", "bob"]), ("due", ["ann"]), ("sent", ["cy"]), ("held", [])],
)
def test_status_filter_takes_a_state_or_due(
    data_dir: Path,
    surveys: dict[str, int],
    capsys: pytest.CaptureFixture[str],
    status: str,
    expected: list[str],
) -> None:
    assert run(data_dir, "--status", status, "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [row["id"] for row in listed] == [surveys[name] for name in expected]


def test_people_get_a_table_and_a_count(
    data_dir: Path, surveys: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(data_dir, "--status", "scheduled") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "email", "name", "status", "send_at", "reason"]
    assert lines[1].split() == [
        str(surveys["ann"]),
        "ann@example.com",
        "Ann",
        "Smith",
        "scheduled",
        "2020-01-02T03:04:05Z",
        "scheduled",
    ]
    assert lines[2].split()[1:3] == ["bob@example.com", "-"]
    assert lines[-1] == "2 surveys scheduled."


def test_an_unknown_status_is_a_usage_error(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_status:
        run(data_dir, "--status", "pending")
    assert exit_status.value.code == 2
    assert "invalid choice: 'pending'" in capsys.readouterr().err


def test_cancel_changes_what_it_can_and_says_so(
    data_dir: Path, surveys: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(data_dir, "cancel", str(surveys["ann"]), str(surveys["cy"])) == 0
    assert capsys.readouterr().out == (
        "Cancelled 1 of 2 surveys; 1 could not be changed (see `callexa-desktop queue`).\n"
    )
    ann = stored(data_dir, surveys["ann"])
    assert (ann.status, ann.reason) == (SurveyStatus.CANCELLED, SurveyReason.CANCELLED_BY_OPERATOR)
    assert stored(data_dir, surveys["cy"]).status == SurveyStatus.SENT


def test_a_refused_action_exits_1_with_one_sentence(
    data_dir: Path, surveys: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(data_dir, "hold", str(surveys["cy"])) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"callexa-desktop: Survey {surveys['cy']} cannot be held: it is already sent, "
        "and only scheduled (or held by the monthly budget) surveys can be.\n"
    )


@pytest.mark.parametrize("json_first", [True, False])
def test_hold_and_release_report_json_wherever_the_flag_stands(
    data_dir: Path, surveys: dict[str, int], capsys: pytest.CaptureFixture[str], json_first: bool
) -> None:
    ids = [str(surveys["ann"]), str(surveys["bob"])]
    hold = ["--json", "hold", *ids] if json_first else ["hold", *ids, "--json"]
    assert run(data_dir, *hold) == 0
    assert json.loads(capsys.readouterr().out) == {"action": "hold", "requested": 2, "changed": 2}
    assert stored(data_dir, surveys["bob"]).status == SurveyStatus.HELD
    assert run(data_dir, "release", str(surveys["bob"])) == 0
    assert capsys.readouterr().out == "Released 1 of 1 survey.\n"
    assert stored(data_dir, surveys["bob"]).status == SurveyStatus.SCHEDULED


def test_reschedule_takes_an_iso_time_in_any_zone(
    data_dir: Path, surveys: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(data_dir, "reschedule", str(surveys["bob"]), "--at", "2030-05-06T07:08:09+02:00") == 0
    )
    assert capsys.readouterr().out == "Rescheduled 1 of 1 survey.\n"
    assert stored(data_dir, surveys["bob"]).send_at == datetime(2030, 5, 6, 5, 8, 9, tzinfo=UTC)


def test_reschedule_refuses_text_that_is_not_a_time(
    data_dir: Path, surveys: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        run(data_dir, "reschedule", str(surveys["bob"]), "--at", "next tuesday")
    assert "'next tuesday' is not a date and time" in capsys.readouterr().err
    assert stored(data_dir, surveys["bob"]).send_at == FUTURE


def test_send_now_makes_a_future_survey_due(
    data_dir: Path, surveys: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(data_dir, "send-now", str(surveys["bob"])) == 0
    capsys.readouterr()
    assert run(data_dir, "--status", "due", "--json") == 0
    due = [row["id"] for row in json.loads(capsys.readouterr().out)]
    assert sorted(due) == sorted([surveys["ann"], surveys["bob"]])


@pytest.fixture
def replannable(data_dir: Path) -> tuple[int, int]:
    """Two customers created long ago whose surveys are waiting; max delay is off."""
    profile = Profile.open(data_dir)
    ids = []
    with profile.database.session() as session:
        for name, age in (("old", 100), ("young", 1)):
            identified = FUTURE - timedelta(days=1)
            created = identified - timedelta(days=age)
            customer = add_customer(session, f"{name}@example.com", created_at=created)
            identify = add_identify(session, customer, event_at=identified, created_at=created)
            survey = add_survey(session, customer, send_at=identified, identify=identify)
            assert survey.id is not None
            ids.append(survey.id)
        set_setting(session, "max_delay_days", "30")
    profile.close()
    return ids[0], ids[1]


def test_replan_previews_by_default_and_applies_on_request(
    data_dir: Path, replannable: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    old, young = replannable
    assert run(data_dir, "replan") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "1 survey is cancelled (1 because the customer is now too old)."
    assert out[1].split() == [
        "survey_id",
        "email",
        "old_send_at",
        "new_send_at",
        "new_status",
        "reason",
    ]
    assert out[2].split() == [
        str(old),
        "old@example.com",
        "2099-06-06T08:09:10.500Z",
        "(cancelled)",
        "cancelled",
        "replan_skipped_too_old",
    ]
    assert out[3].startswith("This was a preview")
    assert stored(data_dir, old).status == SurveyStatus.SCHEDULED

    assert run(data_dir, "replan", "--apply") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Applied 1 change."
    assert stored(data_dir, old).status == SurveyStatus.CANCELLED
    assert stored(data_dir, young).status == SurveyStatus.SCHEDULED


def test_replan_json_lists_counts_and_every_change(
    data_dir: Path, replannable: tuple[int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    old, _ = replannable
    assert run(data_dir, "replan", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "summary": "1 survey is cancelled (1 because the customer is now too old).",
        "checked": 2,
        "unchanged": 1,
        "kept": 0,
        "unplannable": 0,
        "moved": 0,
        "cancelled": 1,
        "cancelled_by_outcome": {"skipped_too_old": 1},
        "applied": None,
        "changes": [
            {
                "survey_id": old,
                "email": "old@example.com",
                "old_send_at": "2099-06-06T08:09:10.500Z",
                "new_send_at": None,
                "new_status": "cancelled",
                "reason": "replan_skipped_too_old",
            }
        ],
    }
    assert run(data_dir, "replan", "--apply", "--json") == 0
    assert json.loads(capsys.readouterr().out)["applied"] == 1


def test_replan_with_nothing_waiting_says_so(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(data_dir, "replan") == 0
    assert capsys.readouterr().out == (
        "No surveys are waiting to be sent, so there is nothing to re-plan.\n"
    )
