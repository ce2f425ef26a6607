"""The Callexa stand-in: idempotency, budget, refusals, and simulated replies."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

import pytest

from callexa_desktop.services.sandbox.callexa import CallexaFake
from tests.conftest import FakeClock


def call(
    fake: CallexaFake,
    method: str,
    path: str,
    body: Any = None,
    *,
    key: str | None = "any-key",
    idempotency_key: str | None = None,
) -> tuple[int, dict[str, str], Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    raw = json.dumps(body).encode() if body is not None else b""
    status, reply_headers, reply = fake.handle(method, path, headers, raw)
    return status, reply_headers, json.loads(reply)


def send(fake: CallexaFake, email: str, survey_key: str) -> tuple[int, dict[str, str], Any]:
    body = {"survey_key": survey_key, "recipient": {"email": email}}
    return call(fake, "POST", "/surveys", body, idempotency_key=f"idem-{survey_key}")


def test_the_same_idempotency_key_gets_the_same_receipt_and_no_second_email() -> None:
    fake = CallexaFake()
    status, _, first = send(fake, "ada@example.com", "s1")
    again_status, headers, again = send(fake, "ada@example.com", "s1")

    assert (status, again_status) == (201, 200)
    assert again == first
    assert headers["Idempotent-Replayed"] == "true"
    assert fake.emails_per_idempotency_key() == {"idem-s1": 1}
    assert (fake.send_requests, fake.replays) == (2, 1)


def test_a_send_without_idempotency_key_is_refused() -> None:
    body = {"recipient": {"email": "ada@example.com"}}
    status, _, reply = call(CallexaFake(), "POST", "/surveys", body)
    assert (status, reply["error"]["code"]) == (400, "idempotency_key_required")


def test_only_the_configured_key_is_accepted() -> None:
    key = secrets.token_hex(8)
    fake = CallexaFake(api_key=key)

    assert call(fake, "GET", "/account", key=key)[0] == 200
    assert call(fake, "GET", "/account", key=secrets.token_hex(8))[0] == 401
    assert call(fake, "GET", "/account", key=None)[0] == 401


def test_the_monthly_budget_is_enforced_and_renews_next_month() -> None:
    clock = FakeClock(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))
    fake = CallexaFake(monthly_budget=2, clock=clock)

    assert [send(fake, f"c{n}@example.com", f"s{n}")[0] for n in range(3)] == [201, 201, 402]
    clock.advance(hours=2)  # 1 December, 01:00 UTC
    assert send(fake, "c2@example.com", "s2")[0] == 201
    assert call(fake, "GET", "/account")[2]["remaining_this_month"] == 1


def test_an_undeliverable_or_refused_recipient_gets_422() -> None:
    fake = CallexaFake()
    fake.refuse_recipients(lambda email: email.endswith("@bounce.test"))

    assert send(fake, "not-an-email", "s1")[0] == 422
    assert send(fake, "x@bounce.test", "s2")[0] == 422
    assert fake.emails == []


def test_a_recipient_surveyed_elsewhere_gets_409_with_when() -> None:
    fake = CallexaFake()
    fake.mark_already_surveyed("Ada@Example.com", datetime(2026, 10, 1, tzinfo=UTC))
    status, _, reply = send(fake, "ada@example.com", "s1")

    assert status == 409
    assert reply["error"]["sent_at"] == "2026-10-01T00:00:00Z"


def test_simulated_replies_are_deterministic_for_a_seed() -> None:
    def replies(seed: int) -> list[tuple[str, int, str]]:
        fake = CallexaFake(clock=FakeClock())
        for n in range(20):
            send(fake, f"c{n}@example.com", f"s{n}")
        return [(r["email"], r["rating"], r["comment"]) for r in fake.simulate_replies(seed=seed)]

    assert replies(5) == replies(5)
    assert replies(5) != replies(6)
    assert all(0 <= rating <= 10 for _, rating, _ in replies(5))


def test_each_surveyed_recipient_replies_at_most_once() -> None:
    fake = CallexaFake(clock=FakeClock())
    for n in range(3):
        send(fake, f"c{n}@example.com", f"s{n}")

    first = fake.simulate_replies(2, seed=1)
    rest = fake.simulate_replies(seed=1)
    none_left = fake.simulate_replies(seed=1)

    assert [r["email"] for r in first + rest] == [f"c{n}@example.com" for n in range(3)]
    assert none_left == []
    assert all(r["answered_at"] >= r["sent_at"] for r in first + rest)


def test_the_admin_routes_simulate_replies_list_emails_and_change_the_budget() -> None:
    fake = CallexaFake(clock=FakeClock())
    send(fake, "ada@example.com", "s1")

    status, _, added = call(fake, "POST", "/_sandbox/replies", {"count": 5, "seed": 2}, key=None)
    _, _, emails = call(fake, "GET", "/_sandbox/emails", key=None)
    _, _, budget = call(fake, "POST", "/_sandbox/budget", {"monthly_budget": 1}, key=None)

    assert (status, added["added"]) == (200, 1)
    assert emails["emails"][0]["idempotency_key"] == "idem-s1"
    assert budget == {"monthly_budget": 1}
    assert send(fake, "bob@example.com", "s2")[0] == 402


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nowhere", 404), ("DELETE", "/surveys", 405), ("GET", "/responses?cursor=zz", 400)],
)
def test_unknown_routes_and_bad_cursors_are_refused(method: str, path: str, status: int) -> None:
    assert call(CallexaFake(), method, path)[0] == status
