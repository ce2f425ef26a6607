"""Fixtures for the window tests: an AppContext over the per-test profile, offscreen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from callexa_desktop.app.context import AppContext
from callexa_desktop.app.workers import TaskError
from callexa_desktop.core.profile import Profile
from callexa_desktop.services.keychain import Keychain
from tests.services.memory_keyring import InMemoryKeyring


@pytest.fixture
def context(qapp: object, profile: Profile) -> Iterator[AppContext]:
    """A context whose window state lives in the test's profile folder, never the user's."""
    made = AppContext(profile)
    errors: list[TaskError] = []
    made.report_error = errors.append
    made.reported_errors = errors  # type: ignore[attr-defined]
    yield made
    assert made.shutdown(10_000), "background jobs did not stop"


@pytest.fixture
def memory_keychain(profile: Profile) -> Keychain:
    """The profile's keychain, empty and kept in memory for this test only."""
    return Keychain(profile.data_dir, backend=InMemoryKeyring())
