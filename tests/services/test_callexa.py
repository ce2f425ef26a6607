"""The Callexa client against the sandbox on 127.0.0.1 and against scripted replies."""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from callexa_desktop.services.callexa import (
    CallexaAlreadySurveyed,
    CallexaBudgetExhausted,
    CallexaClient,
    CallexaInvalidRecipient,
    CallexaKeyRejected,
    CallexaRateLimited,
    CallexaRequestRefused,
    CallexaUnavailable,
    Recipient,
    idempotency_key_for,
)
from callexa_desktop.services.sandbox import Sandbox

ADA = Recipient("ada@example.com", name="Ada Lovelace", first_name="Ada", user_id="u-1")


@pytest.fixture
def api_key() -> str:
    return secrets.token_hex(16)


@pytest.fixture
def sandbox(api_key: str) -> Iterator[Sandbox]:
    with Sandbox(callexa_api_key=api_key) as running:
        yield running


@pytest.fixture
def client(sandbox: Sandbox, api_key: str) -> Iterator[CallexaClient]:
    with CallexaClient(sandbox.callexa_base_url, api_key, timeout=5) as opened:
        yield opened


def scripted(
    status: int, body: object = None, headers: dict[str, str] | None = None
) -> tuple[CallexaClient, list[httpx.Request]]:
    """A client whose every request gets this reply; the requests are collected."""
    seen: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(status, content=content, headers=headers)

    key = secrets.token_hex(16)
    return CallexaClient("https://callexa.test/v1", key, transport=httpx.MockTransport(reply)), seen


def test_a_survey_is_sent_once_and_a_repeat_is_a_replay(
    client: CallexaClient, sandbox: Sandbox
) -> None:
    first = client.send_survey(ADA, survey_key="s-1")
    again = client.send_survey(ADA, survey_key="s-1")

    assert (first.replayed, again.replayed) == (False, True)
    assert again.id == first.id
    assert [e.email for e in sandbox.callexa.emails] == ["ada@example.com"]


def test_every_attempt_for_a_survey_carries_the_same_idempotency_key() -> None:
    client, seen = scripted(503)
    for _ in range(3):
        with pytest.raises(CallexaUnavailable):
            client.send_survey(ADA, survey_key="s-7")

    keys = {request.headers["Idempotency-Key"] for request in seen}
    assert keys == {idempotency_key_for("s-7")}
    assert json.loads(seen[0].content)["recipient"]["email"] == "ada@example.com"


def test_idempotency_keys_are_header_safe_for_any_survey_key() -> None:
    odd = idempotency_key_for("überraschung / 1")

    assert odd == idempotency_key_for("überraschung / 1")
    assert odd.isascii()
    assert " " not in odd
    assert idempotency_key_for("a") != idempotency_key_for("b")


def test_the_key_goes_in_a_bearer_header_and_nowhere_else() -> None:
    client, seen = scripted(201, {"id": "svy_1", "email": "ada@example.com"})
    client.send_survey(ADA, survey_key="s-1")
    key = seen[0].headers["Authorization"].removeprefix("Bearer ")

    assert len(key) == 32
    assert key not in str(seen[0].url)
    assert key.encode() not in seen[0].content
    assert key not in repr(client)


def test_a_wrong_key_is_rejected_with_a_sentence_without_the_key(sandbox: Sandbox) -> None:
    wrong = secrets.token_hex(16)
    with (
        CallexaClient(sandbox.callexa_base_url, wrong) as client,
        pytest.raises(CallexaKeyRejected, match="keys set callexa") as refused,
    ):
        client.check_key()

    assert wrong not in str(refused.value)
    assert not refused.value.transient


def test_a_key_with_spaces_is_refused_before_any_request() -> None:
    key = "abc " + secrets.token_hex(8)
    with pytest.raises(CallexaKeyRejected) as refused:
        CallexaClient("https://callexa.test/v1", key)
    assert key not in str(refused.value)


def test_check_key_passes_for_the_right_key(client: CallexaClient) -> None:
    client.check_key()


def test_account_reports_the_budget_left_this_month(api_key: str) -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    with (
        Sandbox(callexa_api_key=api_key, monthly_budget=3, clock=lambda: now) as sandbox,
        CallexaClient(sandbox.callexa_base_url, api_key) as client,
    ):
        client.send_survey(ADA, survey_key="s-1")
        info = client.account()

    assert (info.monthly_budget, info.sent_this_month, info.remaining_this_month) == (3, 1, 2)
    assert info.period_start == datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "body", "error_type"),
    [
        (402, {"error": {"code": "budget_exhausted"}}, CallexaBudgetExhausted),
        (409, {"error": {"code": "already_surveyed"}}, CallexaAlreadySurveyed),
        (
            422,
            {"error": {"code": "invalid_recipient", "message": "bounced"}},
            CallexaInvalidRecipient,
        ),
        (400, {"error": {"code": "bad"}}, CallexaRequestRefused),
    ],
)
def test_refusals_are_permanent_errors_with_sentences(
    status: int, body: object, error_type: type[Exception]
) -> None:
    client, _ = scripted(status, body)
    with pytest.raises(error_type) as refused:
        client.send_survey(ADA, survey_key="s-1")

    assert not refused.value.transient  # type: ignore[attr-defined]
    assert str(refused.value).endswith(".")


def test_an_invalid_recipient_says_why() -> None:
    client, _ = scripted(422, {"error": {"code": "invalid_recipient", "message": "Mailbox full."}})
    with pytest.raises(CallexaInvalidRecipient, match=r"ada@example.com.*Mailbox full"):
        client.send_survey(ADA, survey_key="s-1")


def test_already_surveyed_reports_when() -> None:
    body = {"error": {"code": "already_surveyed", "sent_at": "2026-10-01T09:00:00Z"}}
    client, _ = scripted(409, body)
    with pytest.raises(CallexaAlreadySurveyed) as refused:
        client.send_survey(ADA, survey_key="s-1")
    assert refused.value.sent_at == datetime(2026, 10, 1, 9, tzinfo=UTC)


def test_a_server_echoing_the_key_does_not_put_it_in_the_message() -> None:
    seen_key: list[str] = []

    def echo(request: httpx.Request) -> httpx.Response:
        key = request.headers["Authorization"].removeprefix("Bearer ")
        seen_key.append(key)
        return httpx.Response(400, json={"error": {"message": f"bad key {key}"}})

    client = CallexaClient(
        "https://c.test", secrets.token_hex(16), transport=httpx.MockTransport(echo)
    )
    with pytest.raises(CallexaRequestRefused) as refused:
        client.account()
    assert seen_key[0] not in str(refused.value)


def test_429_is_transient_and_carries_retry_after_in_seconds() -> None:
    client, _ = scripted(429, {}, {"Retry-After": "7"})
    with pytest.raises(CallexaRateLimited) as limited:
        client.send_survey(ADA, survey_key="s-1")
    assert limited.value.transient
    assert limited.value.retry_after == 7


def test_retry_after_given_as_a_date_is_read_against_the_clock() -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": later})

    client = CallexaClient(
        "https://c.test", "k" * 20, transport=httpx.MockTransport(reply), clock=lambda: now
    )
    with pytest.raises(CallexaRateLimited) as limited:
        client.account()
    assert limited.value.retry_after == 90


def test_server_trouble_is_transient(client: CallexaClient, sandbox: Sandbox) -> None:
    sandbox.faults.fail_next(1, 503)
    with pytest.raises(CallexaUnavailable, match="503") as trouble:
        client.send_survey(ADA, survey_key="s-1")
    assert trouble.value.transient
    assert sandbox.callexa.emails == []


def test_a_dropped_connection_is_transient(client: CallexaClient, sandbox: Sandbox) -> None:
    sandbox.faults.drop_next()
    with pytest.raises(CallexaUnavailable, match="connection"):
        client.send_survey(ADA, survey_key="s-1")


def test_a_slow_reply_times_out_as_transient(sandbox: Sandbox, api_key: str) -> None:
    held = sandbox.faults.hold_next(after_handling=True)
    with CallexaClient(sandbox.callexa_base_url, api_key, timeout=0.3) as client:
        with pytest.raises(CallexaUnavailable, match="did not answer") as slow:
            client.send_survey(ADA, survey_key="s-1")
        held.release()
        # The email went out before the reply was late; the retry is a replay.
        retried = client.send_survey(ADA, survey_key="s-1")

    assert slow.value.transient
    assert held.arrived.is_set()
    assert retried.replayed
    assert len(sandbox.callexa.emails) == 1


def test_nobody_listening_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        CallexaClient(f"http://127.0.0.1:{port}/callexa", "k" * 20, timeout=2) as client,
        pytest.raises(CallexaUnavailable, match="connection"),
    ):
        client.account()


def test_a_garbled_success_reply_is_transient() -> None:
    client, _ = scripted(201, b"<html>proxy</html>")
    with pytest.raises(CallexaUnavailable, match="could not be understood"):
        client.send_survey(ADA, survey_key="s-1")


def test_an_unusable_base_url_is_a_permanent_refusal() -> None:
    with (
        CallexaClient("ftp://callexa.test", "k" * 20) as client,
        pytest.raises(CallexaRequestRefused, match="callexa_base_url"),
    ):
        client.account()


def test_responses_are_listed_page_by_page_from_a_cursor(
    client: CallexaClient, sandbox: Sandbox
) -> None:
    for number in range(5):
        client.send_survey(Recipient(f"c{number}@example.com"), survey_key=f"s-{number}")
    sandbox.callexa.simulate_replies(seed=3)

    first = client.list_responses(None, limit=3)
    second = client.list_responses(first.next_cursor, limit=3)
    nothing_new = client.list_responses(second.next_cursor, limit=3)

    assert (len(first.responses), first.has_more) == (3, True)
    assert (len(second.responses), second.has_more) == (2, False)
    assert nothing_new.responses == []
    assert nothing_new.next_cursor == second.next_cursor
    emails = [r.email for r in first.responses + second.responses]
    assert emails == [f"c{n}@example.com" for n in range(5)]
    assert all(0 <= r.rating <= 10 and r.survey_key for r in first.responses)


def test_an_empty_account_keeps_the_cursor_it_had(client: CallexaClient) -> None:
    assert client.list_responses(None).next_cursor is None


def test_responses_not_matching_the_contract_are_skipped_and_counted() -> None:
    good = {"id": "r1", "email": "a@x.com", "rating": 9, "answered_at": "2026-11-01T10:00:00Z"}
    body = {
        "responses": [good, {**good, "id": "r2", "rating": "nine"}, {**good, "id": None}, "x"],
        "next_cursor": "c_4",
    }
    client, _ = scripted(200, body)
    page = client.list_responses("c_0")

    assert [r.id for r in page.responses] == ["r1"]
    assert page.responses[0].comment == ""
    assert (page.malformed, page.next_cursor) == (3, "c_4")
