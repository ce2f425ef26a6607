"""Shared fixtures: a fresh profile per test, a fixed clock, no real keychain or network."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from callexa_desktop.core.profile import Profile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

FIXED_NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock that only moves when a test moves it."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.now = self.now + timedelta(**delta)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Never touch the operator's real profile, keychain or keys from a test.
    monkeypatch.setenv("CALLEXA_DESKTOP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CALLEXA_DESKTOP_DATABASE_URL", raising=False)
    monkeypatch.delenv("CALLEXA_API_KEY", raising=False)
    monkeypatch.delenv("SEGMENT_WRITE_KEY", raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "profile"
    folder.mkdir()
    return folder


@pytest.fixture
def profile(data_dir: Path, clock: FakeClock) -> Iterator[Profile]:
    opened = Profile.open(data_dir, clock=clock)
    yield opened
    opened.close()
