"""The Callexa API client: the one place that knows how Callexa is spoken to.

The contract (paths, bodies, status codes) is written down in ``docs/callexa-api.md``;
pointing the program at the real service is a matter of the ``callexa_base_url``
setting and, at worst, this class. Every failure is raised as a ``CallexaApiError``
subclass whose ``transient`` flag says whether trying again later can help, and whose
message is a sentence for the operator — never containing the API key.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import httpx

from callexa_desktop import __version__
from callexa_desktop.core.clock import Clock, as_utc, utc_now
from callexa_desktop.core.errors import CallexaError
from callexa_desktop.services.tls import verified_tls

log = logging.getLogger(__name__)

IDEMPOTENCY_PREFIX = "callexa-desktop-survey-"
_SAFE_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
_PRINTABLE_KEY = re.compile(r"[\x21-\x7e]{1,4096}")


# -- what goes in and comes out -------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """Who a survey is sent to; only ``email`` is required."""

    email: str
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    user_id: str | None = None

    def as_json(self) -> dict[str, str]:
        fields = {
            "email": self.email,
            "name": self.name,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "user_id": self.user_id,
        }
        return {key: value for key, value in fields.items() if value}


@dataclass(frozen=True)
class SentSurvey:
    """Callexa's receipt for a survey. ``replayed``: answered from the idempotency record,
    so no new email went out for this attempt."""

    id: str
    email: str
    sent_at: datetime | None
    replayed: bool


@dataclass(frozen=True)
class RemoteResponse:
    """One reply as Callexa reports it (the rating is checked for 0–10 by the caller)."""

    id: str
    email: str
    rating: int
    comment: str
    answered_at: datetime
    sent_at: datetime | None
    survey_key: str | None


@dataclass(frozen=True)
class ResponsePage:
    """One page of responses. Pass ``next_cursor`` to the next call; ``has_more`` says a
    further page is ready now. ``malformed`` counts items skipped for not matching the
    contract."""

    responses: list[RemoteResponse]
    next_cursor: str | None
    has_more: bool = False
    malformed: int = 0


@dataclass(frozen=True)
class AccountInfo:
    """The account's survey and how much of this month's budget is left (None = no limit)."""

    account_name: str
    survey_name: str
    monthly_budget: int | None
    sent_this_month: int
    remaining_this_month: int | None
    period_start: datetime | None


# -- errors -----------------------------------------------------------------------------------


class CallexaApiError(CallexaError):
    """A request to Callexa failed. ``transient``: trying again later may succeed."""

    transient = False

    def __init__(self, message: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class CallexaTransientError(CallexaApiError):
    """Worth retrying: rate limits, server trouble, time-outs, broken connections."""

    transient = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class CallexaRateLimited(CallexaTransientError):
    """429: Callexa asked us to slow down; ``retry_after`` seconds if it said."""


class CallexaUnavailable(CallexaTransientError):
    """5xx, no answer in time, a dropped connection, or a garbled reply."""


class CallexaPermanentError(CallexaApiError):
    """Repeating the same request will fail the same way."""


class CallexaKeyRejected(CallexaPermanentError):
    """401/403: the API key is wrong or revoked. Stops a send run."""


class CallexaBudgetExhausted(CallexaPermanentError):
    """402: the Callexa account's monthly survey budget is used up."""


class CallexaAlreadySurveyed(CallexaPermanentError):
    """409: Callexa already surveyed this recipient recently; no new email was sent."""

    def __init__(self, message: str, *, sent_at: datetime | None = None) -> None:
        super().__init__(message, status=409, code="already_surveyed")
        self.sent_at = sent_at


class CallexaInvalidRecipient(CallexaPermanentError):
    """422: Callexa will not send to this recipient (e.g. an undeliverable address)."""


class CallexaRequestRefused(CallexaPermanentError):
    """Any other refusal (4xx), or a base URL that cannot be used."""


# -- the client -------------------------------------------------------------------------------


def idempotency_key_for(survey_key: str) -> str:
    """The ``Idempotency-Key`` of every send attempt of the survey whose key is ``survey_key``.

    Deterministic, so a retry — even by a later process after a crash — carries the same key.
    """
    if _SAFE_KEY.fullmatch(survey_key):
        return IDEMPOTENCY_PREFIX + survey_key
    return IDEMPOTENCY_PREFIX + "sha256-" + hashlib.sha256(survey_key.encode()).hexdigest()


class CallexaClient:
    """Speaks the Callexa contract of ``docs/callexa-api.md`` to ``base_url``.

    ``transport`` replaces the network (tests); ``timeout`` is seconds per request;
    ``clock`` is used to read a Retry-After given as a date. Use as a context manager
    or call ``close()``.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        clock: Clock = utc_now,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        if not _PRINTABLE_KEY.fullmatch(api_key):
            # Checked here so a bad key never reaches an HTTP library error message.
            raise CallexaKeyRejected(
                "The Callexa API key contains spaces or characters an API key cannot have; "
                "store it again with `callexa-desktop keys set callexa`."
            )
        self._api_key = api_key
        self._clock = clock
        self._timeout = timeout
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            transport=transport,
            verify=verified_tls(),
            timeout=timeout,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": f"callexa-desktop/{__version__}",
            },
            follow_redirects=False,
        )

    def __repr__(self) -> str:  # never show the key
        return f"CallexaClient({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CallexaClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the three calls ---------------------------------------------------------------

    def send_survey(self, recipient: Recipient, *, survey_key: str) -> SentSurvey:
        """Ask Callexa to email the survey to ``recipient``: ``POST /surveys``.

        The ``Idempotency-Key`` derives from ``survey_key``, so repeating the call for the
        same survey never emails twice. Raises a ``CallexaApiError`` subclass on failure.
        """
        body = {"survey_key": survey_key, "recipient": recipient.as_json()}
        headers = {"Idempotency-Key": idempotency_key_for(survey_key)}
        reply = self._request("POST", "surveys", json=body, headers=headers, who=recipient.email)
        data = _json_object(reply, self.base_url)
        survey_id = data.get("id")
        if not isinstance(survey_id, str) or not survey_id:
            raise _garbled(self.base_url)
        replayed = reply.headers.get("Idempotent-Replayed", "").lower() == "true"
        return SentSurvey(
            id=survey_id,
            email=str(data.get("email") or recipient.email),
            sent_at=_parse_time(data.get("sent_at")),
            replayed=replayed,
        )

    def list_responses(self, cursor: str | None, *, limit: int = 100) -> ResponsePage:
        """Responses that arrived after ``cursor`` (None: from the start): ``GET /responses``."""
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        reply = self._request("GET", "responses", params=params)
        data = _json_object(reply, self.base_url)
        items = data.get("responses")
        if not isinstance(items, list):
            raise _garbled(self.base_url)
        responses: list[RemoteResponse] = []
        malformed = 0
        for item in items:
            parsed = _parse_response(item)
            if parsed is None:
                malformed += 1
            else:
                responses.append(parsed)
        if malformed:
            log.warning(
                "Skipped %d responses from Callexa that did not match the contract", malformed
            )
        next_cursor = data.get("next_cursor")
        return ResponsePage(
            responses=responses,
            next_cursor=str(next_cursor) if next_cursor else cursor,
            has_more=bool(data.get("has_more")),
            malformed=malformed,
        )

    def account(self) -> AccountInfo:
        """The survey and this month's budget: ``GET /account``."""
        data = _json_object(self._request("GET", "account"), self.base_url)
        survey = data.get("survey") if isinstance(data.get("survey"), dict) else {}
        assert isinstance(survey, dict)
        return AccountInfo(
            account_name=str(data.get("account") or ""),
            survey_name=str(survey.get("name") or ""),
            monthly_budget=_optional_int(data.get("monthly_budget")),
            sent_this_month=_optional_int(data.get("sent_this_month")) or 0,
            remaining_this_month=_optional_int(data.get("remaining_this_month")),
            period_start=_parse_time(data.get("period_start")),
        )

    def check_key(self) -> None:
        """Return quietly when Callexa accepts the key; raise (e.g. CallexaKeyRejected) if not."""
        self.account()

    # -- plumbing ----------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str | int] | None = None,
        headers: dict[str, str] | None = None,
        who: str = "",
    ) -> httpx.Response:
        where = _host(self.base_url)
        try:
            reply = self._http.request(method, path, json=json, params=params, headers=headers)
        except httpx.UnsupportedProtocol:
            raise CallexaRequestRefused(
                f"The Callexa address {self.base_url!r} is not a usable web address; "
                "correct the callexa_base_url setting."
            ) from None
        except httpx.TimeoutException:
            raise CallexaUnavailable(
                f"Callexa at {where} did not answer within {self._timeout:g} seconds."
            ) from None
        except httpx.TransportError as error:
            raise CallexaUnavailable(
                f"The connection to Callexa at {where} failed ({type(error).__name__}); "
                "check the network connection."
            ) from None
        if reply.is_success:
            return reply
        raise self._error_for(reply, who)

    def _error_for(self, reply: httpx.Response, who: str) -> CallexaApiError:
        status = reply.status_code
        code, detail = _error_body(reply)
        detail = self._scrub(detail)
        recipient = f" {who}" if who else ""
        if status in (401, 403):
            return CallexaKeyRejected(
                f"Callexa refused the API key ({status}); store the right one with "
                "`callexa-desktop keys set callexa` or in the Keys dialog.",
                status=status,
                code=code,
            )
        if status == 402:
            return CallexaBudgetExhausted(
                "Callexa says this month's survey budget of the account is used up (402); "
                "the remaining surveys wait for next month.",
                status=status,
                code=code,
            )
        if status == 409:
            return CallexaAlreadySurveyed(
                f"Callexa says the recipient{recipient} was already surveyed (409); "
                "no new email was sent.",
                sent_at=_parse_time(_error_field(reply, "sent_at")),
            )
        if status == 422:
            because = f": {detail}" if detail else ""
            return CallexaInvalidRecipient(
                f"Callexa refused the recipient{recipient} as invalid (422){because}.",
                status=status,
                code=code,
            )
        if status == 429:
            wait = self._retry_after(reply)
            later = f" for {wait:g} seconds" if wait is not None else ""
            return CallexaRateLimited(
                f"Callexa asked us to slow down{later} (429).",
                status=status,
                code=code,
                retry_after=wait,
            )
        if status >= 500:
            return CallexaUnavailable(
                f"Callexa had a problem on its side ({status}); trying again later should work.",
                status=status,
                code=code,
                retry_after=self._retry_after(reply),
            )
        because = f": {detail}" if detail else ""
        # A 404 almost always means the address setting points at the wrong place.
        hint = " Check the Callexa API address (setting callexa_base_url)." if status == 404 else ""
        return CallexaRequestRefused(
            f"Callexa refused the request ({status}){because}.{hint}", status=status, code=code
        )

    def _retry_after(self, reply: httpx.Response) -> float | None:
        """Seconds from a Retry-After header given as seconds or as an HTTP date."""
        value = reply.headers.get("Retry-After", "").strip()
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (as_utc(when) - self._clock()).total_seconds())

    def _scrub(self, text: str) -> str:
        # A server echoing the key back must not carry it into an error message.
        return text.replace(self._api_key, "[API key]") if self._api_key else text


# -- parsing helpers --------------------------------------------------------------------------


def _host(base_url: str) -> str:
    try:
        return httpx.URL(base_url).host or base_url
    except httpx.InvalidURL:
        return base_url


def _garbled(base_url: str) -> CallexaUnavailable:
    return CallexaUnavailable(
        f"Callexa at {_host(base_url)} sent a reply that could not be understood; "
        "trying again later may work."
    )


def _json_object(reply: httpx.Response, base_url: str) -> dict[str, Any]:
    try:
        data = reply.json()
    except ValueError:
        raise _garbled(base_url) from None
    if not isinstance(data, dict):
        raise _garbled(base_url)
    return data


def _error_body(reply: httpx.Response) -> tuple[str, str]:
    """``(code, message)`` of a ``{"error": {"code", "message"}}`` body; empty when absent."""
    try:
        data = reply.json()
    except ValueError:
        return "", ""
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return "", ""
    message = str(error.get("message") or "").strip().rstrip(".")
    return str(error.get("code") or ""), message[:300]


def _error_field(reply: httpx.Response, name: str) -> Any:
    try:
        data = reply.json()
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error.get(name) if isinstance(error, dict) else None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _optional_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _parse_response(item: Any) -> RemoteResponse | None:
    if not isinstance(item, dict):
        return None
    response_id, email, rating = item.get("id"), item.get("email"), item.get("rating")
    answered_at = _parse_time(item.get("answered_at"))
    if not isinstance(response_id, str) or not response_id or not isinstance(email, str):
        return None
    if isinstance(rating, bool) or not isinstance(rating, int) or answered_at is None:
        return None
    comment = item.get("comment")
    survey_key = item.get("survey_key")
    return RemoteResponse(
        id=response_id,
        email=email,
        rating=rating,
        comment=comment if isinstance(comment, str) else "",
        answered_at=answered_at,
        sent_at=_parse_time(item.get("sent_at")),
        survey_key=survey_key if isinstance(survey_key, str) and survey_key else None,
    )
