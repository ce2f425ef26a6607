"""``customers``: the contract's JSON fields with UTC times, and a table for people."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from callexa_desktop.cli.main import main
from callexa_desktop.core.profile import Profile
from tests.core.queue_builders import add_customer


@pytest.fixture
def customers(data_dir: Path) -> None:
    profile = Profile.open(data_dir)
    with profile.database.session() as session:
        add_customer(
            session,
            "rated@example.com",
            user_id="u-1",
            anonymous_id="anon-1",
            created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            last_identified_at=datetime(2026, 2, 3, 4, 5, 6, 789_000, tzinfo=UTC),
            last_decision="scheduled",
            last_surveyed_at=datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
            nps_rating=9,
            nps_comment="not part of the list",
            nps_date=datetime(2026, 3, 5, 6, 7, 8, tzinfo=UTC),
        )
        add_customer(session, "bare@example.com")
    profile.close()


def run(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), "customers", *args])


@pytest.mark.usefixtures("customers")
def test_json_lists_exactly_the_contract_fields_by_email(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(data_dir, "--json") == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == [
        {
            "email": "bare@example.com",
            "user_id": None,
            "anonymous_id": None,
            "created_at": None,
            "last_identified_at": None,
            "last_decision": None,
            "last_surveyed_at": None,
            "nps_rating": None,
            "nps_date": None,
        },
        {
            "email": "rated@example.com",
            "user_id": "u-1",
            "anonymous_id": "anon-1",
            "created_at": "2026-01-02T03:04:05Z",
            "last_identified_at": "2026-02-03T04:05:06.789Z",
            "last_decision": "scheduled",
            "last_surveyed_at": "2026-03-04T05:06:07Z",
            "nps_rating": 9,
            "nps_date": "2026-03-05T06:07:08Z",
        },
    ]
    assert err == ""


@pytest.mark.usefixtures("customers")
def test_people_get_a_table_and_a_count(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(data_dir) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "email",
        "user_id",
        "anonymous_id",
        "created_at",
        "last_identified_at",
        "last_decision",
        "last_surveyed_at",
        "nps_rating",
        "nps_date",
    ]
    assert lines[1].split() == ["bare@example.com", *["-"] * 8]
    assert lines[2].split()[:2] == ["rated@example.com", "u-1"]
    assert lines[2].split()[-2:] == ["9", "2026-03-05T06:07:08Z"]
    assert lines[3] == "2 customers."


def test_no_customers_is_an_empty_array(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(data_dir, "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
