"""A stand-in for the Callexa API, in memory, speaking the contract of ``docs/callexa-api.md``.

It honours idempotency keys (the same key is answered with the same receipt and no
second "email"), keeps a monthly budget, records every email it "sent", and can
simulate replies from surveyed recipients (deterministic for a seed). Tests can make
it refuse recipients (422) or report them already surveyed (409).

``handle(method, path, headers, body)`` answers one request; ``path`` is relative to
the Callexa base URL (``/surveys``, ``/responses?cursor=…``, ``/account``,
``/_sandbox/...``). Thread-safe.
"""

from __future__ import annotations

import hmac
import json
import random
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from callexa_desktop.core.clock import Clock, iso_utc, utc_now

Reply = tuple[int, dict[str, str], bytes]

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_PAGE = 1000

_COMMENTS = {
    "promoter": [
        "Quick and friendly, thank you!",
        "Everything worked the first time.",
        "Great support team.",
        "",
    ],
    "passive": ["Fine overall.", "Does the job, a bit pricey.", "", "Delivery could be faster."],
    "detractor": [
        "Took three emails to get an answer.",
        "The invoice was wrong twice.",
        "Not what I expected.",
        "",
    ],
}


@dataclass(frozen=True)
class SandboxEmail:
    """One survey email the sandbox "sent"."""

    survey_id: str
    email: str
    survey_key: str
    idempotency_key: str
    sent_at: datetime


class CallexaFake:
    """Callexa in memory. ``api_key`` None accepts any non-empty key; ``monthly_budget``
    None means no limit."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        monthly_budget: int | None = None,
        clock: Clock = utc_now,
        seed: int = 0,
        account_name: str = "Sandbox account",
    ) -> None:
        self.api_key = api_key
        self.monthly_budget = monthly_budget
        self.clock = clock
        self.seed = seed
        self.account_name = account_name
        self.emails: list[SandboxEmail] = []
        self.responses: list[dict[str, Any]] = []
        self.send_requests = 0  # every POST /surveys that passed auth, replays included
        self.replays = 0
        self._receipts: dict[str, dict[str, Any]] = {}
        self._answered: set[str] = set()  # survey ids that have a reply
        self._already_surveyed: dict[str, datetime | None] = {}
        self._refuse: Callable[[str], bool] | None = None
        self._reply_rounds = 0
        self._lock = threading.Lock()

    # -- test and demo controls ----------------------------------------------------------

    def refuse_recipients(self, predicate: Callable[[str], bool] | None) -> None:
        """Answer 422 for recipients whose email makes ``predicate`` true (None: stop)."""
        with self._lock:
            self._refuse = predicate

    def mark_already_surveyed(self, email: str, sent_at: datetime | None = None) -> None:
        """Answer 409 to new surveys for ``email``, as if surveyed from elsewhere."""
        with self._lock:
            self._already_surveyed[email.strip().lower()] = sent_at

    def set_budget(self, monthly_budget: int | None) -> None:
        with self._lock:
            self.monthly_budget = monthly_budget

    def emails_per_idempotency_key(self) -> Counter[str]:
        """How many emails went out per idempotency key (more than 1 would be a bug)."""
        with self._lock:
            return Counter(email.idempotency_key for email in self.emails)

    def emails_per_survey_key(self) -> Counter[str]:
        with self._lock:
            return Counter(email.survey_key for email in self.emails)

    def simulate_replies(
        self, count: int | None = None, *, seed: int | None = None
    ) -> list[dict[str, Any]]:
        """Replies from up to ``count`` surveyed recipients who have not answered yet.

        Ratings 0–10 and comments are drawn from ``random.Random(seed)`` (default: the
        sandbox seed and how many rounds ran), so the same state and seed give the same
        replies. Returns the new responses as the API would list them.
        """
        with self._lock:
            waiting = [e for e in self.emails if e.survey_id not in self._answered]
            if count is not None:
                waiting = waiting[: max(0, count)]
            rng = random.Random(seed if seed is not None else self.seed * 1000 + self._reply_rounds)
            self._reply_rounds += 1
            now = self.clock()
            added = []
            for email in waiting:
                rating = _nps_rating(rng)
                kind = "promoter" if rating >= 9 else "passive" if rating >= 7 else "detractor"
                # Answered some minutes after sending, but never in the future.
                answered_at = min(now, email.sent_at + timedelta(minutes=rng.randint(5, 600)))
                response = {
                    "id": f"rsp_{len(self.responses) + 1:06d}",
                    "email": email.email,
                    "rating": rating,
                    "comment": rng.choice(_COMMENTS[kind]),
                    "answered_at": iso_utc(max(answered_at, email.sent_at)),
                    "sent_at": iso_utc(email.sent_at),
                    "survey_key": email.survey_key,
                }
                self.responses.append(response)
                self._answered.add(email.survey_id)
                added.append(response)
            return added

    # -- the API -------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one request as Callexa would: ``(status, headers, body)``."""
        parts = urlsplit(path)
        route = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        method = method.upper()
        lowered = {key.lower(): value for key, value in headers.items()}
        if route.startswith("/_sandbox/"):
            return self._admin(method, route, body)
        routes = {
            ("POST", "/surveys"): lambda: self._send(lowered, body),
            ("GET", "/responses"): lambda: self._list_responses(query),
            ("GET", "/account"): self._account,
        }
        action = routes.get((method, route))
        if action is None:
            if any(known_route == route for _, known_route in routes):
                return _error(405, "method_not_allowed", "Method not allowed on this route.")
            return _error(404, "not_found", "No such route.")
        if not self._authorised(lowered):
            return _error(401, "unauthorized", "Missing or invalid API key.")
        return action()

    def _authorised(self, headers: Mapping[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        return self.api_key is None or hmac.compare_digest(token, self.api_key)

    def _send(self, headers: Mapping[str, str], body: bytes) -> Reply:
        idempotency_key = headers.get("idempotency-key", "").strip()
        if not idempotency_key:
            return _error(400, "idempotency_key_required", "An Idempotency-Key header is needed.")
        payload = _json(body)
        recipient = payload.get("recipient") if isinstance(payload, dict) else None
        if not isinstance(payload, dict) or not isinstance(recipient, dict):
            return _error(400, "invalid_body", "The body must be a JSON object with a recipient.")
        with self._lock:
            self.send_requests += 1
            receipt = self._receipts.get(idempotency_key)
            if receipt is not None:
                self.replays += 1
                return _json_reply(200, receipt, {"Idempotent-Replayed": "true"})
            email = str(recipient.get("email") or "").strip().lower()
            if not _EMAIL.fullmatch(email) or (self._refuse is not None and self._refuse(email)):
                return _error(422, "invalid_recipient", "The recipient's email is not deliverable.")
            if email in self._already_surveyed:
                earlier = self._already_surveyed[email]
                return _error(
                    409,
                    "already_surveyed",
                    "This recipient was already surveyed recently.",
                    sent_at=iso_utc(earlier),
                )
            now = self.clock()
            if self.monthly_budget is not None and self._sent_in_month(now) >= self.monthly_budget:
                return _error(402, "budget_exhausted", "This month's survey budget is used up.")
            survey_key = str(payload.get("survey_key") or "")
            survey_id = f"svy_{len(self.emails) + 1:06d}"
            self.emails.append(SandboxEmail(survey_id, email, survey_key, idempotency_key, now))
            receipt = {
                "id": survey_id,
                "status": "sent",
                "email": email,
                "sent_at": iso_utc(now),
                "survey_key": survey_key,
            }
            self._receipts[idempotency_key] = receipt
            return _json_reply(201, receipt)

    def _list_responses(self, query: Mapping[str, str]) -> Reply:
        cursor = query.get("cursor")
        start = 0
        if cursor:
            match = re.fullmatch(r"c_(\d+)", cursor)
            if not match:
                return _error(400, "invalid_cursor", "The cursor is not one this API gave out.")
            start = int(match[1])
        try:
            limit = min(MAX_PAGE, max(1, int(query.get("limit", "100"))))
        except ValueError:
            return _error(400, "invalid_limit", "The limit must be a whole number.")
        with self._lock:
            page = self.responses[start : start + limit]
            end = start + len(page)
            total = len(self.responses)
        return _json_reply(
            200,
            {
                "responses": page,
                "next_cursor": f"c_{end}" if total else None,
                "has_more": end < total,
            },
        )

    def _account(self) -> Reply:
        with self._lock:
            now = self.clock()
            sent = self._sent_in_month(now)
            budget = self.monthly_budget
        return _json_reply(
            200,
            {
                "account": self.account_name,
                "survey": {
                    "id": "nps",
                    "name": "NPS",
                    "question": "How likely are you to recommend us to a friend or colleague?",
                },
                "monthly_budget": budget,
                "sent_this_month": sent,
                "remaining_this_month": None if budget is None else max(0, budget - sent),
                "period_start": iso_utc(_month_start(now)),
            },
        )

    def _admin(self, method: str, route: str, body: bytes) -> Reply:
        payload = _json(body) if body else {}
        if not isinstance(payload, dict):
            return _error(400, "invalid_body", "The body must be a JSON object.")
        if (method, route) == ("POST", "/_sandbox/replies"):
            count, seed = payload.get("count"), payload.get("seed")
            if (count is not None and not isinstance(count, int)) or (
                seed is not None and not isinstance(seed, int)
            ):
                return _error(400, "invalid_body", "count and seed must be whole numbers.")
            added = self.simulate_replies(count, seed=seed)
            return _json_reply(200, {"added": len(added), "responses": added})
        if (method, route) == ("GET", "/_sandbox/emails"):
            with self._lock:
                emails = [{**asdict(e), "sent_at": iso_utc(e.sent_at)} for e in self.emails]
            return _json_reply(200, {"emails": emails})
        if (method, route) == ("POST", "/_sandbox/budget"):
            budget = payload.get("monthly_budget")
            if budget is not None and (not isinstance(budget, int) or budget < 0):
                return _error(400, "invalid_body", "monthly_budget must be a whole number or null.")
            self.set_budget(budget)
            return _json_reply(200, {"monthly_budget": budget})
        return _error(404, "not_found", "No such sandbox route.")

    def _sent_in_month(self, now: datetime) -> int:
        start = _month_start(now)
        return sum(1 for email in self.emails if email.sent_at >= start)


def _month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _nps_rating(rng: random.Random) -> int:
    # Skewed like real NPS answers: many 8–10, a tail of low scores.
    weights = [2, 1, 1, 2, 2, 4, 5, 9, 18, 22, 24]
    return rng.choices(range(11), weights=weights)[0]


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except (UnicodeDecodeError, ValueError):
        return None


def _json_reply(status: int, data: Any, extra: Mapping[str, str] | None = None) -> Reply:
    headers = {"Content-Type": "application/json", **(extra or {})}
    return status, headers, json.dumps(data).encode()


def _error(status: int, code: str, message: str, **fields: Any) -> Reply:
    error = {"code": code, "message": message, **{k: v for k, v in fields.items() if v}}
    return _json_reply(status, {"error": error})
