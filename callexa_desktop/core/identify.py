"""Turning one Segment ``identify`` message (or one CSV row) into an IdentifyRecord.

Implements the specification's table "Identify records": the email is taken
from ``traits.email`` (else ``context.traits.email``) and syntax-checked
offline; createdAt and the event time are read as ISO-8601 or Unix time;
names and ids are kept. Anything that does not fit becomes a RecordRejected
with a reason and a short sentence, never an exception.

This runs once per imported record, so it stays cheap: ``datetime.fromisoformat``
for times, and email verdicts cached (see ``email_problem``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from email_validator import EmailNotValidError, validate_email

from callexa_desktop.core.records import IdentifyRecord, RecordRejected


class Reason:
    """Why a record was rejected (stored with the rejection, shown in the summary)."""

    MISSING_EMAIL = "missing_email"
    INVALID_EMAIL = "invalid_email"
    INVALID_CREATED_AT = "invalid_created_at"
    INVALID_TIMESTAMP = "invalid_timestamp"
    NOT_IDENTIFY = "not_identify"
    MALFORMED_JSON = "malformed_json"
    MALFORMED_CSV = "malformed_csv"


# Where the event time T comes from, in order of preference (the specification's table).
EVENT_TIME_FIELDS = ("timestamp", "originalTimestamp", "receivedAt", "sentAt")

# Unix times at or above this magnitude are milliseconds: 1e11 s is the year 5138,
# while 1e11 ms is March 1973, so no plausible creation date is ambiguous.
_MILLISECONDS_FROM = 1e11


def normalise_identify(
    message: Mapping[str, Any], *, source: str, line: int | None, import_time: datetime
) -> IdentifyRecord | RecordRejected:
    """One parsed message in, a normalised record or a rejection (with reason and detail) out.

    ``source`` and ``line`` say where the message was read (kept on the result);
    ``import_time`` (aware UTC) is the event time of a message that carries none.
    """

    # ``type(x) is dict`` first: parsed JSON is always a dict, and the ABC check is slow.
    if type(message) is not dict and not isinstance(message, Mapping):
        return RecordRejected(
            source,
            line,
            Reason.NOT_IDENTIFY,
            f"Expected an identify object, found {_kind(message)}.",
        )
    get = message.get
    call_type = get("type")
    if call_type is not None and call_type != "identify" and not _names_identify(call_type):
        return RecordRejected(
            source,
            line,
            Reason.NOT_IDENTIFY,
            f"This is a {_shorten(call_type)!r} call, not an identify.",
        )

    traits = get("traits")
    if type(traits) is not dict and not isinstance(traits, Mapping):
        traits = {}
    raw_email = traits.get("email")
    if raw_email is None or raw_email == "":
        context = get("context")
        context_traits = context.get("traits") if isinstance(context, Mapping) else None
        if isinstance(context_traits, Mapping):
            raw_email = context_traits.get("email")
    if raw_email is None or (type(raw_email) is str and not raw_email.strip()):
        return RecordRejected(
            source, line, Reason.MISSING_EMAIL, "The record has no email in its traits."
        )
    if type(raw_email) is not str:
        return RecordRejected(
            source, line, Reason.INVALID_EMAIL, f"The email is {_kind(raw_email)}, not text."
        )
    email = raw_email.strip().lower()
    problem = email_problem(email)
    if problem is not None:
        return RecordRejected(
            source, line, Reason.INVALID_EMAIL, f"{_shorten(raw_email.strip())}: {problem}"
        )

    raw_created = traits.get("createdAt")
    if raw_created is None:
        raw_created = traits.get("created_at")
    created_at: datetime | None = None
    if raw_created is not None and raw_created != "":
        created_at = parse_moment(raw_created)
        if created_at is None:
            return RecordRejected(
                source,
                line,
                Reason.INVALID_CREATED_AT,
                f"createdAt {_shorten(raw_created)!r} is neither an ISO-8601 date or "
                "date-time nor a Unix time in seconds or milliseconds.",
            )

    event_at = import_time
    for field in EVENT_TIME_FIELDS:
        raw_time = get(field)
        if raw_time is None or raw_time == "":
            continue
        moment = parse_moment(raw_time)
        if moment is None:
            return RecordRejected(
                source,
                line,
                Reason.INVALID_TIMESTAMP,
                f"{field} {_shorten(raw_time)!r} is not an ISO-8601 date-time or a Unix time.",
            )
        event_at = moment
        break

    first_name = traits.get("firstName")
    if first_name is None:
        first_name = traits.get("first_name")
    last_name = traits.get("lastName")
    if last_name is None:
        last_name = traits.get("last_name")
    return IdentifyRecord(
        email=email,
        event_at=event_at,
        created_at=created_at,
        message_key=message_key(message),
        source=source,
        line=line,
        user_id=_text(get("userId")),
        anonymous_id=_text(get("anonymousId")),
        first_name=_text(first_name),
        last_name=_text(last_name),
        name=_text(traits.get("name")),
        gender=_text(traits.get("gender")),
    )


def message_key(message: Mapping[str, Any]) -> str:
    """The duplicate key: the messageId, else ``sha256:`` of the canonical JSON of the message.

    Canonical means sorted keys and compact separators, so the same content gives
    the same key whatever the order of its fields.
    """
    message_id = message.get("messageId")
    if isinstance(message_id, str) and message_id.strip():
        return message_id.strip()
    canonical = json.dumps(message, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("ascii")).hexdigest()


def parse_moment(value: Any) -> datetime | None:
    """An ISO-8601 date / date-time or a Unix time (s or ms; number or digits) as aware UTC.

    A date alone is midnight UTC; a date-time without an offset is UTC. Returns
    None when the value is none of these.
    """
    if type(value) is str or isinstance(value, str):
        text = value.strip()
        # Extended ISO dates ("2024-01-05...") are by far the most common: straight in.
        if len(text) < 5 or text[4] != "-":
            if not text:
                return None
            if _is_number_text(text):
                # Digits are a Unix time, even 8 of them (an ISO basic date "20240105" is
                # far rarer in exports than a Unix time written as text).
                return _from_unix(float(text))
        try:
            moment = datetime.fromisoformat(text)
            zone = moment.tzinfo
            if zone is UTC:  # "Z": already what we keep
                return moment
            if zone is None:
                return moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC)
        except (ValueError, OverflowError):
            return None
    if isinstance(value, bool):  # a bool is an int to Python, never a time to us
        return None
    if isinstance(value, int | float):
        return _from_unix(float(value))
    return None


def email_problem(address: str) -> str | None:
    """None when ``address`` (already trimmed and lower-cased) is a valid email, else why not.

    The verdict is email_validator's (offline: no DNS). Most addresses take a
    shortcut with the same result: a plain ASCII part before the @-sign plus a
    domain whose verdict is cached, since an import repeats few domains across
    many customers. Everything else goes to the library whole, cached too.
    """
    local, at, domain = address.partition("@")
    if at and _PLAIN_LOCAL.match(local) and _PLAIN_DOMAIN.match(domain):
        verdict = _domain_verdict(domain)
        if verdict.problem is not None:
            return verdict.problem
        if len(local) + 1 + verdict.longest_form > _EMAIL_MAX_LENGTH:
            return _address_verdict(address)  # let the library word the length problem
        return None
    return _address_verdict(address)


@dataclass(frozen=True)
class CsvColumns:
    """Which CSV column holds which field, decided once from the header row."""

    header: tuple[str, ...]
    fields: tuple[str | None, ...]  # per column: the message field it fills, or None

    @classmethod
    def from_header(cls, header: Sequence[str]) -> CsvColumns:
        """Match header names to fields, ignoring case, spaces, ``_`` and ``-``."""
        cleaned = tuple(name.strip() for name in header)
        fields = tuple(_CSV_FIELDS.get(_header_key(name)) for name in cleaned)
        return cls(header=cleaned, fields=fields)

    @property
    def has_email(self) -> bool:
        return "traits.email" in self.fields


def normalise_csv_row(
    cells: Sequence[str],
    columns: CsvColumns,
    *,
    source: str,
    line: int | None,
    import_time: datetime,
) -> IdentifyRecord | RecordRejected:
    """One CSV data row in, a record or rejection out, by way of the identify message it stands for.

    Columns that are not one of ours become traits under their header name, so
    they count in the content hash that stands in for a missing messageId.
    Empty cells are absent values.
    """
    message: dict[str, Any] = {"type": "identify"}
    traits: dict[str, Any] = {}
    for index, cell in enumerate(cells[: len(columns.header)]):
        if not cell:
            continue
        field = columns.fields[index]
        if field is None:
            name = columns.header[index]
            if name:
                traits[name] = cell
        elif field.startswith("traits."):
            traits[field[7:]] = cell
        else:
            message[field] = cell
    message["traits"] = traits
    return normalise_identify(message, source=source, line=line, import_time=import_time)


# ---------------------------------------------------------------------------------------------

# RFC 5322 dot-atom: the only ASCII form email_validator accepts before the @-sign unquoted.
_PLAIN_LOCAL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
# Domain text made of hostname characters only, so the split at "@" is unambiguous.
_PLAIN_DOMAIN = re.compile(r"[a-z0-9.-]+\Z")
_EMAIL_MAX_LENGTH = 254  # RFC 5321 as email_validator applies it, in UTF-8 bytes


@dataclass(frozen=True)
class _DomainVerdict:
    problem: str | None
    longest_form: int  # UTF-8 length of the longest form of the domain the library checks


@lru_cache(maxsize=8192)
def _domain_verdict(domain: str) -> _DomainVerdict:
    try:
        checked = validate_email("a@" + domain, check_deliverability=False)
    except EmailNotValidError as error:
        return _DomainVerdict(problem=str(error), longest_form=0)
    forms = (domain, checked.domain, checked.ascii_domain or domain)
    return _DomainVerdict(problem=None, longest_form=max(len(f.encode("utf-8")) for f in forms))


@lru_cache(maxsize=65536)
def _address_verdict(address: str) -> str | None:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        return str(error)
    return None


def _from_unix(seconds: float) -> datetime | None:
    if not math.isfinite(seconds):
        return None
    if abs(seconds) >= _MILLISECONDS_FROM:
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _is_number_text(text: str) -> bool:
    if text[0] in "+-":
        text = text[1:]
    whole, _, fraction = text.partition(".")
    return whole.isdigit() and (not fraction or fraction.isdigit()) and whole.isascii()


def _names_identify(call_type: Any) -> bool:
    # Lenient about case and blanks: an empty type is an absent one.
    return isinstance(call_type, str) and call_type.strip().lower() in ("identify", "")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _shorten(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _header_key(name: str) -> str:
    return name.strip().lower().replace("_", "").replace("-", "").replace(" ", "")


# CSV header (after _header_key) -> the message field it fills.
_CSV_FIELDS: dict[str, str] = {
    "email": "traits.email",
    "emailaddress": "traits.email",
    "createdat": "traits.createdAt",
    "firstname": "traits.firstName",
    "lastname": "traits.lastName",
    "name": "traits.name",
    "gender": "traits.gender",
    "userid": "userId",
    "anonymousid": "anonymousId",
    "timestamp": "timestamp",
    "originaltimestamp": "originalTimestamp",
    "receivedat": "receivedAt",
    "sentat": "sentAt",
    "messageid": "messageId",
}
