"""The identify feed: an HTTP(S) address serving identify records, and the one poll entry point.

The feed is fetched with a conditional GET: the ``ETag`` and ``Last-Modified`` of
the last body that was imported are kept in the ``cursor`` table
(``poll.feed:<url>``) and sent back as ``If-None-Match`` / ``If-Modified-Since``,
so an unchanged feed costs a 304 and nothing else. A changed body is streamed
through the readers into ``import_items``; the position moves on only once
that import finished, so a failure anywhere means the next check fetches it
again (records already stored are duplicates and change nothing).

``poll_sources`` is what the window's timer calls: the watched folder, then the
feed, each failing on its own with a sentence, never an exception.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from callexa_desktop.core.activity import RunKind, RunStatus, finish_run, start_run
from callexa_desktop.core.importing import ImportSummary, import_items
from callexa_desktop.core.models import Cursor
from callexa_desktop.core.polling import FolderPoll, poll_folder
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.reading import read_identify_stream
from callexa_desktop.core.reading.content import CHUNK_BYTES
from callexa_desktop.services.tls import verified_tls

log = logging.getLogger(__name__)

CURSOR_PREFIX = "poll.feed:"
ACCEPT = "application/x-ndjson, application/json;q=0.9, text/csv;q=0.5, */*;q=0.1"


@dataclass
class FeedPoll:
    """What one check of the identify feed did."""

    url: str  # as shown to the operator: without credentials or query
    changed: bool = False  # False when the server said 304 Not Modified (or on failure)
    summary: ImportSummary | None = None
    problem: str | None = None  # a sentence when the feed could not be fetched or read

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "changed": self.changed,
            "import": self.summary.as_dict() if self.summary else None,
            "problem": self.problem,
        }


@dataclass
class PollSummary:
    """The result of checking every configured source once."""

    folder: FolderPoll | None = None
    feed: FeedPoll | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        """New records stored by this check, over all sources."""
        return sum(s.accepted for s in self._summaries())

    def message(self) -> str:
        """One or two sentences for the status bar or a notification."""
        if self.problems:
            return " ".join(self.problems)
        if self.folder is None and self.feed is None:
            return "No watched folder or feed is set."
        if next(self._summaries(), None) is None:
            return "Nothing new to import."
        return f"{self.accepted} new identify records imported."

    def as_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder.as_dict() if self.folder else None,
            "feed": self.feed.as_dict() if self.feed else None,
            "accepted": self.accepted,
            "problems": list(self.problems),
        }

    def _summaries(self) -> Iterator[ImportSummary]:
        for source in (self.folder, self.feed):
            if source is not None and source.summary is not None:
                yield source.summary


def poll_sources(
    profile: Profile,
    *,
    transport: httpx.BaseTransport | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> PollSummary:
    """Check the watched folder and the feed from the settings once; import what is new.

    ``transport`` replaces httpx's network transport (tests). A source that fails
    adds a sentence to ``problems`` and the other is still checked.
    """
    settings = profile.settings()
    result = PollSummary()
    if settings.poll_folder.strip():
        result.folder = poll_folder(profile, Path(settings.poll_folder.strip()))
        if result.folder.problem:
            result.problems.append(result.folder.problem)
            _record_failure(profile, result.folder.folder, result.folder.problem)
    if settings.poll_url.strip():
        result.feed = poll_feed(
            profile, settings.poll_url.strip(), transport=transport, should_cancel=should_cancel
        )
        if result.feed.problem:
            result.problems.append(result.feed.problem)
    return result


def poll_feed(
    profile: Profile,
    url: str,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 30.0,
    should_cancel: Callable[[], bool] | None = None,
) -> FeedPoll:
    """Fetch ``url`` if it changed since the last import and import its records.

    Never raises for network or server trouble: ``problem`` holds the sentence,
    the failure is in the Activity history, and the position is left unchanged.
    """
    shown = display_url(url)
    result = FeedPoll(url=shown)
    if urlsplit(url).scheme not in ("http", "https"):
        result.problem = f"The identify feed address {shown} is not an http:// or https:// URL."
        return result
    cursor_name = CURSOR_PREFIX + url
    position = _load_position(profile, cursor_name)
    headers = {"Accept": ACCEPT}
    if position.get("etag"):
        headers["If-None-Match"] = position["etag"]
    if position.get("last_modified"):
        headers["If-Modified-Since"] = position["last_modified"]
    try:
        with (
            httpx.Client(
                transport=transport, verify=verified_tls(), timeout=timeout, follow_redirects=True
            ) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code == httpx.codes.NOT_MODIFIED:
                return result
            if response.status_code != httpx.codes.OK:
                result.problem = (
                    f"The identify feed {shown} answered {response.status_code} "
                    f"{response.reason_phrase}; nothing was imported and it will be checked "
                    "again next time."
                )
                _record_failure(profile, shown, result.problem)
                return result
            result.changed = True
            items = read_identify_stream(
                _ResponseBody(response),
                source=shown,
                import_time=profile.clock(),
                total_bytes=_content_length(response),
            )
            summary = import_items(
                profile, items, source=shown, kind=RunKind.POLL, should_cancel=should_cancel
            )
            new_position = {
                "etag": response.headers.get("ETag"),
                "last_modified": response.headers.get("Last-Modified"),
            }
    except httpx.HTTPError as error:
        result.problem = (
            f"The identify feed {shown} could not be reached ({_describe(error)}); "
            "it will be checked again next time."
        )
        _record_failure(profile, shown, result.problem)
        return result
    result.summary = summary
    if summary.refused_files:
        # The import refused the body and kept none of it; the Activity run says why.
        result.problem = " ".join(sentence for _, sentence in summary.refused_files)
    elif not summary.cancelled:
        _save_position(profile, cursor_name, new_position)
    return result


def display_url(url: str) -> str:
    """``url`` without user name, password, query or fragment: safe to show and store."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class _ResponseBody:
    """The response body as a byte source for the readers; transport errors become OSError."""

    def __init__(self, response: httpx.Response) -> None:
        self._chunks = response.iter_bytes(chunk_size=CHUNK_BYTES)
        self._buffer = b""

    def read(self, size: int = -1, /) -> bytes:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return b""
            except httpx.HTTPError as error:
                reason = f"the connection failed while receiving it ({_describe(error)})"
                raise OSError(reason) from error
        if size < 0 or size >= len(self._buffer):
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def _content_length(response: httpx.Response) -> int | None:
    # Only meaningful when the body is not content-encoded (then it counts compressed bytes).
    if response.headers.get("Content-Encoding"):
        return None
    try:
        return int(response.headers["Content-Length"])
    except (KeyError, ValueError):
        return None


def _load_position(profile: Profile, name: str) -> dict[str, str]:
    with profile.database.session() as session:
        row = session.get(Cursor, name)
    if row is None:
        return {}
    try:
        value = json.loads(row.value)
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(v, str)}


def _save_position(profile: Profile, name: str, position: dict[str, str | None]) -> None:
    value = json.dumps({k: v for k, v in position.items() if v})
    with profile.database.session() as session:
        session.merge(Cursor(name=name, value=value, updated_at=profile.clock()))


def _record_failure(profile: Profile, source: str, sentence: str) -> None:
    """A check that failed before any import still shows in the Activity history."""
    run_id = start_run(profile.database, RunKind.POLL, source=source, clock=profile.clock)
    finish_run(
        profile.database, run_id, status=RunStatus.FAILED, message=sentence, clock=profile.clock
    )


def _describe(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "it did not answer in time"
    if isinstance(error, httpx.ConnectError):
        return "the connection was refused or the address is unknown"
    if isinstance(error, httpx.RemoteProtocolError):
        return "the server closed the connection unexpectedly"
    if isinstance(error, httpx.TooManyRedirects):
        return "it redirected too many times"
    return type(error).__name__
