"""The sandbox server: routing to the two fakes over real HTTP, and fault injection."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from callexa_desktop.services.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


def survey(sandbox: Sandbox, key: str, email: str = "ada@example.com") -> httpx.Response:
    return httpx.post(
        sandbox.callexa_base_url + "/surveys",
        json={"survey_key": key, "recipient": {"email": email}},
        headers={"Authorization": "Bearer k", "Idempotency-Key": f"idem-{key}"},
    )


def test_it_listens_on_loopback_and_says_where(sandbox: Sandbox) -> None:
    assert sandbox.url.startswith("http://127.0.0.1:")
    assert sandbox.callexa_base_url == sandbox.url + "/callexa"
    assert httpx.get(sandbox.url + "/").status_code == 200


def test_callexa_routes_reach_the_callexa_fake(sandbox: Sandbox) -> None:
    assert survey(sandbox, "s1").status_code == 201
    assert [e.survey_key for e in sandbox.callexa.emails] == ["s1"]


def test_segment_routes_reach_the_segment_fake(sandbox: Sandbox) -> None:
    message = {"type": "identify", "userId": "u1", "messageId": "m1", "traits": {"NPS_rating": 9}}
    reply = httpx.post(sandbox.segment_endpoint + "/v1/batch", json={"batch": [message]})

    assert reply.status_code == 200
    assert [m["messageId"] for m in sandbox.segment.messages] == ["m1"]


def test_unknown_paths_get_404(sandbox: Sandbox) -> None:
    assert httpx.get(sandbox.url + "/elsewhere").status_code == 404


def test_planned_failures_hit_the_next_requests_only(sandbox: Sandbox) -> None:
    sandbox.faults.fail_next(2, 429, retry_after="4", skip=1)
    statuses = [survey(sandbox, f"s{n}", f"c{n}@example.com") for n in range(4)]

    assert [r.status_code for r in statuses] == [201, 429, 429, 201]
    assert statuses[1].headers["Retry-After"] == "4"
    assert len(sandbox.callexa.emails) == 2


def test_a_failure_after_handling_loses_the_reply_but_not_the_email(sandbox: Sandbox) -> None:
    sandbox.faults.fail_next(1, 502).after_handling = True
    assert survey(sandbox, "s1").status_code == 502
    assert survey(sandbox, "s1").headers["Idempotent-Replayed"] == "true"
    assert len(sandbox.callexa.emails) == 1


def test_a_dropped_request_gets_no_reply(sandbox: Sandbox) -> None:
    dropped = sandbox.faults.drop_next()
    with pytest.raises(httpx.RemoteProtocolError):
        survey(sandbox, "s1")
    assert dropped.arrived.is_set()
    assert sandbox.callexa.emails == []


def test_a_held_request_signals_its_arrival_and_waits_for_release(sandbox: Sandbox) -> None:
    held = sandbox.faults.hold_next(after_handling=True)
    replies: list[int] = []
    sender = threading.Thread(target=lambda: replies.append(survey(sandbox, "s1").status_code))
    sender.start()

    assert held.wait_arrived(timeout=10)
    assert len(sandbox.callexa.emails) == 1  # handled first, reply held back
    assert replies == []
    held.release()
    sender.join(timeout=10)
    assert replies == [201]


def test_stopping_lets_held_requests_go(sandbox: Sandbox) -> None:
    held = sandbox.faults.hold_next(after_handling=False)
    outcome: list[object] = []

    def send() -> None:
        try:
            outcome.append(survey(sandbox, "s1").status_code)
        except httpx.HTTPError as error:
            outcome.append(type(error))

    sender = threading.Thread(target=send)
    sender.start()
    assert held.wait_arrived(timeout=10)
    sandbox.stop()
    sender.join(timeout=10)

    assert not sender.is_alive()
    assert not sandbox.running
