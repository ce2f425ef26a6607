"""The identify feed over real HTTP on 127.0.0.1: conditional requests, changes, failures."""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, select

from callexa_desktop.core.activity import RunKind
from callexa_desktop.core.models import ActivityRun, Customer
from callexa_desktop.core.polling import SETTLE_SECONDS
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.settings import set_setting
from callexa_desktop.services.identify_feed import display_url, poll_feed, poll_sources
from tests.conftest import FakeClock
from tests.core.identify_lines import identify_lines as identify_text


@dataclass
class FeedState:
    """What the test server serves, and what it was asked."""

    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    status: int = 200
    content_encoding: str | None = None
    cut_body_after: int | None = None  # promise the whole body, send this many bytes, hang up
    requests: list[dict[str, str]] = field(default_factory=list)


class FeedServer:
    def __init__(self) -> None:
        self.state = FeedState()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                state.requests.append(dict(self.headers.items()))
                if state.status != 200:
                    self.send_response(state.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                validators_match = (
                    state.etag is not None and self.headers.get("If-None-Match") == state.etag
                ) or (
                    state.etag is None
                    and state.last_modified is not None
                    and self.headers.get("If-Modified-Since") == state.last_modified
                )
                if validators_match:
                    self.send_response(304)
                    self.end_headers()
                    return
                body = state.body
                if state.content_encoding == "gzip":
                    body = gzip.compress(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Content-Length", str(len(body)))
                if state.content_encoding:
                    self.send_header("Content-Encoding", state.content_encoding)
                if state.etag:
                    self.send_header("ETag", state.etag)
                if state.last_modified:
                    self.send_header("Last-Modified", state.last_modified)
                self.end_headers()
                if state.cut_body_after is not None:
                    self.wfile.write(body[: state.cut_body_after])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str = "/identify.ndjson") -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def feed() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def identify_lines(*numbers: int) -> bytes:
    return identify_text(*numbers).encode()


def customer_emails(profile: Profile) -> list[str]:
    with profile.database.session() as session:
        return sorted(session.exec(select(Customer.email)))


def poll_runs(profile: Profile) -> list[ActivityRun]:
    with profile.database.session() as session:
        query = select(ActivityRun).where(ActivityRun.kind == RunKind.POLL)
        return list(session.exec(query.order_by(col(ActivityRun.id))))


def test_a_changed_feed_is_imported_and_an_unchanged_one_costs_a_304(
    profile: Profile, feed: FeedServer
) -> None:
    feed.state.body = identify_lines(1, 2)
    feed.state.etag = '"v1"'
    first = poll_feed(profile, feed.url())
    assert first.changed
    assert first.problem is None
    assert first.summary is not None
    assert first.summary.accepted == 2
    assert customer_emails(profile) == ["person1@example.com", "person2@example.com"]
    assert "If-None-Match" not in feed.state.requests[0]

    second = poll_feed(profile, feed.url())
    assert feed.state.requests[1]["If-None-Match"] == '"v1"'
    assert (second.changed, second.summary, second.problem) == (False, None, None)
    assert len(poll_runs(profile)) == 1  # a 304 is not an import


def test_new_content_under_a_new_etag_brings_only_the_new_records(
    profile: Profile, feed: FeedServer
) -> None:
    feed.state.body = identify_lines(1, 2)
    feed.state.etag = '"v1"'
    poll_feed(profile, feed.url())
    feed.state.body = identify_lines(1, 2, 3)
    feed.state.etag = '"v2"'
    changed = poll_feed(profile, feed.url())
    assert changed.summary is not None
    assert (changed.summary.accepted, changed.summary.duplicates) == (1, 2)
    assert len(customer_emails(profile)) == 3
    assert poll_feed(profile, feed.url()).changed is False
    assert feed.state.requests[-1]["If-None-Match"] == '"v2"'


def test_last_modified_is_sent_back_when_there_is_no_etag(
    profile: Profile, feed: FeedServer
) -> None:
    feed.state.body = identify_lines(1)
    feed.state.last_modified = "Mon, 30 Nov 2026 10:00:00 GMT"
    poll_feed(profile, feed.url())
    again = poll_feed(profile, feed.url())
    assert feed.state.requests[1]["If-Modified-Since"] == "Mon, 30 Nov 2026 10:00:00 GMT"
    assert again.changed is False


def test_a_server_error_is_a_sentence_and_loses_nothing(profile: Profile, feed: FeedServer) -> None:
    feed.state.body = identify_lines(1)
    feed.state.etag = '"v1"'
    poll_feed(profile, feed.url())

    feed.state.status = 503
    failed = poll_feed(profile, feed.url())
    assert failed.problem == (
        f"The identify feed {feed.url()} answered 503 Service Unavailable; nothing was "
        "imported and it will be checked again next time."
    )
    assert [run.status for run in poll_runs(profile)] == ["ok", "failed"]
    assert poll_runs(profile)[-1].message == failed.problem

    feed.state.status = 200
    feed.state.body = identify_lines(1, 2)
    feed.state.etag = '"v2"'
    recovered = poll_feed(profile, feed.url())
    assert feed.state.requests[-1]["If-None-Match"] == '"v1"'  # the position did not move
    assert recovered.summary is not None
    assert recovered.summary.accepted == 1
    assert customer_emails(profile) == ["person1@example.com", "person2@example.com"]


def test_a_body_cut_short_is_refused_whole_and_fetched_again_next_time(
    profile: Profile, feed: FeedServer
) -> None:
    feed.state.body = identify_lines(*range(1, 200))
    feed.state.etag = '"v1"'
    feed.state.cut_body_after = len(feed.state.body) // 2
    cut = poll_feed(profile, feed.url())
    assert cut.problem is not None
    assert cut.problem == (
        f"{feed.url()} could not be read: the connection failed while receiving it "
        "(the server closed the connection unexpectedly)."
    )
    assert customer_emails(profile) == []  # nothing of a refused body is kept

    feed.state.cut_body_after = None
    whole = poll_feed(profile, feed.url())
    assert "If-None-Match" not in feed.state.requests[-1]
    assert whole.summary is not None
    assert whole.summary.accepted == 199


def test_a_gzip_encoded_feed_is_read(profile: Profile, feed: FeedServer) -> None:
    feed.state.body = identify_lines(1, 2)
    feed.state.content_encoding = "gzip"
    result = poll_feed(profile, feed.url())
    assert result.summary is not None
    assert result.summary.accepted == 2


def test_a_feed_serving_a_gzip_file_is_read(profile: Profile, feed: FeedServer) -> None:
    feed.state.body = gzip.compress(identify_lines(1, 2, 3))
    result = poll_feed(profile, feed.url("/export.ndjson.gz"))
    assert result.summary is not None
    assert result.summary.accepted == 3


def test_an_unreachable_feed_is_a_sentence(profile: Profile) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed"
    result = poll_feed(profile, url)
    assert result.problem == (
        f"The identify feed {url} could not be reached (the connection was refused or the "
        "address is unknown); it will be checked again next time."
    )
    assert [run.status for run in poll_runs(profile)] == ["failed"]


def test_a_slow_feed_times_out_with_a_sentence(profile: Profile) -> None:
    def too_slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    result = poll_feed(
        profile, "https://feed.example.com/identify", transport=httpx.MockTransport(too_slow)
    )
    assert result.problem is not None
    assert "did not answer in time" in result.problem


def test_credentials_and_query_never_appear_in_sentences_or_sources(profile: Profile) -> None:
    token = "t" + "0123456789abcdef"  # a stand-in for a private feed token

    def not_found(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, request=request)

    url = f"https://user:{token}@feed.example.com/people.ndjson?token={token}"
    result = poll_feed(profile, url, transport=httpx.MockTransport(not_found))
    assert result.url == "https://feed.example.com/people.ndjson"
    assert result.problem is not None
    assert token not in result.problem
    assert display_url(url) == "https://feed.example.com/people.ndjson"


def test_poll_sources_checks_the_folder_and_the_feed_from_the_settings(
    data_dir: Path, tmp_path: Path, feed: FeedServer
) -> None:
    clock = FakeClock(datetime.now(UTC))
    profile = Profile.open(data_dir, clock=clock)
    try:
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        (inbox / "people.ndjson").write_bytes(identify_lines(1))
        feed.state.body = identify_lines(2, 3)
        with profile.database.session() as session:
            set_setting(session, "poll_folder", str(inbox))
            set_setting(session, "poll_url", feed.url())
        clock.advance(seconds=SETTLE_SECONDS + 5)

        result = poll_sources(profile)
        assert result.problems == []
        assert result.accepted == 3
        assert result.message() == "3 new identify records imported."
        assert customer_emails(profile) == [
            "person1@example.com",
            "person2@example.com",
            "person3@example.com",
        ]
        assert result.as_dict()["accepted"] == 3
    finally:
        profile.close()


def test_poll_sources_reports_each_failing_source_and_still_checks_the_other(
    profile: Profile, tmp_path: Path, feed: FeedServer
) -> None:
    feed.state.body = identify_lines(1)
    with profile.database.session() as session:
        set_setting(session, "poll_folder", str(tmp_path / "missing"))
        set_setting(session, "poll_url", feed.url())
    result = poll_sources(profile)
    assert result.problems == [
        f"The watched folder {tmp_path / 'missing'} does not exist; check the setting or create it."
    ]
    assert result.feed is not None
    assert result.feed.summary is not None
    assert result.feed.summary.accepted == 1
    assert result.message() == result.problems[0]


def test_poll_sources_without_sources_does_nothing(profile: Profile) -> None:
    result = poll_sources(profile)
    assert (result.folder, result.feed, result.problems) == (None, None, [])
    assert result.message() == "No watched folder or feed is set."
