"""Pulling responses from Callexa (the sandbox on 127.0.0.1) with a remembered cursor."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from callexa_desktop.core.activity import RunKind, recent_runs
from callexa_desktop.core.models import Customer, Response
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.sync_outbox import pending_entries
from callexa_desktop.services.callexa import CallexaClient, CallexaUnavailable
from callexa_desktop.services.responses_pull import load_cursor, pull_responses
from callexa_desktop.services.sandbox import Sandbox
from callexa_desktop.services.sandbox.server import CALLEXA_PREFIX


@pytest.fixture
def api_key() -> str:
    return secrets.token_hex(16)


@pytest.fixture
def sandbox(api_key: str) -> Iterator[Sandbox]:
    with Sandbox(callexa_api_key=api_key) as running:
        yield running


@pytest.fixture
def client(sandbox: Sandbox, api_key: str) -> Iterator[CallexaClient]:
    with CallexaClient(sandbox.callexa_base_url, api_key) as opened:
        yield opened


def add_replies(sandbox: Sandbox, count: int, **fields: Any) -> None:
    """Replies as Callexa would list them (appended straight into the sandbox's list)."""
    start = len(sandbox.callexa.responses)
    for n in range(start, start + count):
        sandbox.callexa.responses.append(
            {
                "id": f"rsp_{n:06d}",
                "email": f"c{n}@example.com",
                "rating": n % 11,
                "comment": "" if n % 2 else f"comment {n}",
                "answered_at": f"2026-11-{1 + n % 28:02d}T08:00:00Z",
                "sent_at": None,
                "survey_key": None,
                **fields,
            }
        )


def stored(profile: Profile) -> int:
    with profile.database.session() as session:
        return len(session.exec(select(Response)).all())


def test_a_pull_reads_every_page_and_remembers_where_it_stopped(
    profile: Profile, sandbox: Sandbox, client: CallexaClient
) -> None:
    add_replies(sandbox, 250)
    summary = pull_responses(profile, client)
    assert (summary.recorded, summary.pages, summary.customers_created) == (250, 3, 250)
    assert stored(profile) == 250
    with profile.database.session() as session:
        assert load_cursor(session) == "c_250"
        assert len(list(pending_entries(session))) == 250  # queued for sync-back at once
        run = recent_runs(session, kind=RunKind.RESPONSES)[0]
        assert (run.status, run.source) == ("ok", "callexa")
        assert json.loads(run.summary)["recorded"] == 250


def test_a_second_pull_fetches_only_what_arrived_since(
    profile: Profile, sandbox: Sandbox, client: CallexaClient
) -> None:
    add_replies(sandbox, 30)
    pull_responses(profile, client)
    again = pull_responses(profile, client)
    assert (again.recorded, again.duplicates, again.read) == (0, 0, 0)
    add_replies(sandbox, 5)
    later = pull_responses(profile, client)
    assert (later.recorded, later.duplicates) == (5, 0)
    assert stored(profile) == 35


def test_a_failure_mid_pull_keeps_the_pages_before_it_and_the_next_pull_resumes(
    profile: Profile, sandbox: Sandbox, client: CallexaClient
) -> None:
    add_replies(sandbox, 250)
    sandbox.faults.fail_next(1, 503, path=CALLEXA_PREFIX + "/responses", skip=1)
    with pytest.raises(CallexaUnavailable):
        pull_responses(profile, client)
    assert stored(profile) == 100
    with profile.database.session() as session:
        assert load_cursor(session) == "c_100"
        assert recent_runs(session, kind=RunKind.RESPONSES)[0].status == "failed"
    resumed = pull_responses(profile, client)
    assert (resumed.recorded, resumed.duplicates) == (150, 0)
    assert stored(profile) == 250


def test_a_page_that_fails_to_store_does_not_move_the_cursor(
    profile: Profile, sandbox: Sandbox, client: CallexaClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_replies(sandbox, 150)
    import callexa_desktop.services.responses_pull as pulling

    real = pulling.record_responses
    calls = {"n": 0}

    def failing_on_second_page(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(pulling, "record_responses", failing_on_second_page)
    with pytest.raises(OSError, match="disk full"):
        pull_responses(profile, client)
    with profile.database.session() as session:
        assert load_cursor(session) == "c_100"
    monkeypatch.setattr(pulling, "record_responses", real)
    assert pull_responses(profile, client).recorded == 50


def test_ratings_callexa_sends_outside_0_to_10_are_rejected_with_a_reason(
    profile: Profile, sandbox: Sandbox, client: CallexaClient
) -> None:
    add_replies(sandbox, 2)
    add_replies(sandbox, 1, rating=11)
    add_replies(sandbox, 1, rating="7.5")  # not an integer: the client skips it as malformed
    summary = pull_responses(profile, client)
    assert (summary.recorded, summary.rejected) == (2, 2)
    reasons = sorted(r.reason for r in summary.rejections)
    assert reasons == ["malformed_response", "rating_out_of_range"]


def test_a_pulled_response_links_to_the_survey_it_answers_and_counts_as_history(
    profile: Profile, sandbox: Sandbox, client: CallexaClient
) -> None:
    add_replies(sandbox, 1, sent_at="2026-10-30T08:00:00Z", email="ada@example.com")
    pull_responses(profile, client)
    with profile.database.session() as session:
        ada = session.exec(select(Customer).where(Customer.email == "ada@example.com")).one()
        assert ada.last_surveyed_at is not None
        assert ada.last_surveyed_at.isoformat().startswith("2026-10-30T08:00")
        assert ada.nps_rating == 0
