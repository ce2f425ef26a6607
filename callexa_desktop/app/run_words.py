"""What a run in the Activity history did, in plain words for the operator.

Each kind of run stores its summary as plain values (``import --json``, ``send --json``,
``sync --json`` and the responses counts). ``run_in_words`` turns one into a few short
sentences — "Sent 12 surveys, 1 failed (invalid recipient).", "Delivered 28 ratings to
Segment." — leaving out whatever is zero, empty or false. The raw values stay available
for support (the Activity tab's Details).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from callexa_desktop.app.key_problems import window_sentence
from callexa_desktop.core.activity import RunKind
from callexa_desktop.core.decision import Outcome

# How many names a sentence lists before it says "and N more".
LISTED = 10

# What the rules decided, as fragments of one "Decided: …" sentence.
DECISION_WORDS = {
    Outcome.SCHEDULED: "{surveys} scheduled",
    Outcome.ALREADY_QUEUED: "{n} already had one waiting",
    Outcome.SKIPPED_TOO_OLD: "{n} not surveyed (too old when identified)",
    Outcome.SKIPPED_INTERVAL: "{n} not surveyed (surveyed recently)",
}

# Further send counts: "{n} survey(s)" and what happened to them.
SEND_WORDS = (
    ("already_surveyed", "skipped: Callexa had already surveyed the customer (no new email)"),
    ("replayed", "had already reached Callexa in an interrupted send (no second email)"),
    ("recovered", "finished after an interrupted send"),
    ("retry_later", "to try again later: Callexa could not be reached"),
    ("held", "held: this month's budget is used up"),
    ("released", "released from the budget hold"),
    ("waiting", "waiting for their next try"),
    ("not_attempted", "not tried because the send stopped"),
)

# Further sync counts: the noun counted, and what happened.
SYNC_WORDS = (
    ("failed", "rating", "refused by Segment (sent again after a newer answer)"),
    ("pending", "rating", "left for the next sync"),
    ("comments_truncated", "long comment", "shortened to fit Segment's size limit"),
)

RESPONSE_WORDS = (
    ("duplicates", "answer", "already known"),
    ("rejected", "answer", "rejected"),
    ("customers_created", "new customer", "(answered before ever being identified)"),
)


@dataclass(frozen=True)
class RunWords:
    """A run in plain words: ``lines`` to show; ``not_syncable`` the count of customers a
    sync could not send (no userId or anonymousId), 0 otherwise."""

    lines: list[str] = field(default_factory=list)
    not_syncable: int = 0


def run_in_words(kind: str, summary: Mapping[str, Any]) -> RunWords:
    """The summary of a run of ``kind`` (a ``RunKind``) as sentences; empty for a kind
    this module does not know (its message then speaks for it)."""
    describe = _DESCRIBERS.get(kind)
    if describe is None or not summary:  # e.g. a source check that failed before importing
        return RunWords()
    return describe(_Values(summary))


def not_syncable_sentence(count: int) -> str:
    """ "1 customer can't be synced yet (no userId or anonymousId)."."""
    noun = "customer can't" if count == 1 else "customers can't"
    return f"{count:,} {noun} be synced yet (no userId or anonymousId)."


class _Values:
    """The summary's values, read forgivingly: a missing or odd value counts as nothing."""

    def __init__(self, summary: Mapping[str, Any]) -> None:
        self._summary = summary

    def count(self, key: str) -> int:
        return self.number(key) or 0

    def number(self, key: str) -> int | None:
        """A count that may be absent on purpose (None: "no limit")."""
        value = self._summary.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def flag(self, key: str) -> bool:
        return self._summary.get(key) is True

    def text(self, key: str) -> str:
        value = self._summary.get(key)
        return value.strip() if isinstance(value, str) else ""

    def items(self, key: str) -> list[Any]:
        value = self._summary.get(key)
        return value if isinstance(value, list) else []

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self._summary.get(key)
        return value if isinstance(value, dict) else {}


def _import(values: _Values) -> RunWords:
    parts = [
        f"{values.count('accepted'):,} new" if values.count("accepted") else "",
        f"{values.count('duplicates'):,} already known" if values.count("duplicates") else "",
        f"{values.count('rejected'):,} rejected" if values.count("rejected") else "",
    ]
    counted = ", ".join(part for part in parts if part)
    lines = [f"Read {_n(values.count('read'), 'record')}" + (f": {counted}." if counted else ".")]
    decisions = values.mapping("decisions")
    decided = [
        words.format(n=f"{count:,}", surveys=_n(count, "survey"))
        for outcome, words in DECISION_WORDS.items()
        if isinstance(count := decisions.get(outcome), int) and count > 0
    ]
    if decided:
        lines.append("Decided: " + ", ".join(decided) + ".")
    for refused in values.items("refused_files"):
        if isinstance(refused, dict) and refused.get("message"):
            lines.append(f"Could not be read: {refused['message']}")
    lines.extend(str(notice) for notice in values.items("notices") if notice)
    if values.flag("cancelled"):
        lines.append("Stopped at your request before the end.")
    return RunWords(lines)


def _send(values: _Values) -> RunWords:
    failures = [f for f in values.items("failures") if isinstance(f, dict)]
    if values.flag("dry_run"):
        headline = f"Would send {_n(values.count('due'), 'survey')}"
    else:
        headline = f"Sent {_n(values.count('sent'), 'survey')}"
    if values.count("failed"):
        reasons = ", ".join(sorted({_why_failed(failure) for failure in failures}))
        headline += f", {values.count('failed'):,} failed" + (f" ({reasons})" if reasons else "")
    lines = [headline + "."]
    failed = [f"{f['email']} ({_why_failed(f)})" for f in failures if f.get("email")]
    if failed:
        lines.append("Failed: " + _listed(failed) + ".")
    for key, words in SEND_WORDS:
        if values.count(key):
            lines.append(f"{_n(values.count(key), 'survey')} {words}.")
    budget = values.number("budget_remaining")
    if budget is not None:
        lines.append(f"Budget left before this send: {budget:,}.")
    lines.extend(_ending(values))
    return RunWords(lines)


def _responses(values: _Values) -> RunWords:
    recorded = values.count("recorded")
    lines = [f"Recorded {_n(recorded, 'new response')}." if recorded else "No new responses."]
    for key, noun, words in RESPONSE_WORDS:
        if values.count(key):
            lines.append(f"{_n(values.count(key), noun)} {words}.")
    for refused in values.items("refused_files"):
        if isinstance(refused, dict) and refused.get("reason"):
            lines.append(f"Could not be read: {refused['reason']}")
    return RunWords(lines)


def _sync(values: _Values) -> RunWords:
    to_send, delivered = values.count("to_send"), values.count("delivered")
    if values.flag("dry_run"):
        lines = [f"Would send {_n(to_send, 'rating')} to Segment (a trial: nothing was sent)."]
    elif to_send == 0:
        lines = ["Nothing new to send to Segment."]
    elif delivered == to_send:
        lines = [f"Delivered {_n(delivered, 'rating')} to Segment."]
    else:
        lines = [f"Delivered {delivered:,} of {_n(to_send, 'rating')} to Segment."]
    for key, noun, words in SYNC_WORDS:
        if values.count(key):
            lines.append(f"{_n(values.count(key), noun)} {words}.")
    not_syncable = values.count("not_syncable")
    if not_syncable:
        lines.append(not_syncable_sentence(not_syncable))
    lines.extend(_ending(values))
    return RunWords(lines, not_syncable)


def _ending(values: _Values) -> list[str]:
    """Why a send or sync stopped early, in the window's words."""
    lines = []
    if values.text("stopped"):
        lines.append(window_sentence(values.text("stopped")))
    if values.flag("cancelled"):
        lines.append("Stopped at your request.")
    return lines


def _why_failed(failure: Mapping[str, Any]) -> str:
    message = str(failure.get("message", "")).lower()
    return "invalid recipient" if "invalid" in message or "(422)" in message else "refused"


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:LISTED])
    more = len(names) - LISTED
    return f"{shown} and {more:,} more" if more > 0 else shown


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


_DESCRIBERS: dict[str, Callable[[_Values], RunWords]] = {
    RunKind.IMPORT: _import,
    RunKind.POLL: _import,
    RunKind.SEND: _send,
    RunKind.RESPONSES: _responses,
    RunKind.SYNC: _sync,
}
