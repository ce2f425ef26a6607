"""What readers produce: normalised identify records, rejections and notices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class IdentifyRecord:
    """One valid identify record, normalised. Times are aware UTC."""

    email: str  # the customer's key: trimmed and lower-cased
    event_at: datetime  # T: when the identify call happened
    created_at: datetime | None
    message_key: str  # messageId, or "sha256:<hex>" of the canonical record
    source: str  # file name (or feed address) it came from
    line: int | None  # 1-based line where the record starts
    user_id: str | None = None
    anonymous_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    gender: str | None = None


@dataclass(frozen=True, slots=True)
class RecordRejected:
    """A record that could not be taken, where it was, and why."""

    source: str
    line: int | None
    reason: str  # missing_email, invalid_email, invalid_created_at, malformed_json, ...
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ReadNotice:
    """Something the operator should know about a file that is not a rejection."""

    source: str
    message: str


ReadItem = IdentifyRecord | RecordRejected | ReadNotice
