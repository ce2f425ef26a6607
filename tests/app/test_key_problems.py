"""Key problems the services word for the command line point at the Keys… dialog instead."""

from __future__ import annotations

import pytest

from callexa_desktop.app.key_problems import for_the_window, key_named_in, window_sentence
from callexa_desktop.app.workers import TaskError
from callexa_desktop.core.errors import CallexaError
from callexa_desktop.core.profile import Profile
from callexa_desktop.services.callexa import CallexaClient
from callexa_desktop.services.keychain import Keychain, KeyMissing, KeyName
from callexa_desktop.services.segment import SegmentClient
from callexa_desktop.services.syncing import sync_ratings


def _sentence_of(error: type[CallexaError], attempt: object) -> str:
    with pytest.raises(error) as raised:
        attempt()  # type: ignore[operator]
    return str(raised.value)


def test_a_missing_segment_key_says_to_add_it_with_keys(memory_keychain: Keychain) -> None:
    sentence = _sentence_of(KeyMissing, lambda: memory_keychain.require(KeyName.SEGMENT))

    assert key_named_in(sentence) == KeyName.SEGMENT
    assert window_sentence(sentence) == "No Segment write key is set. Open Keys… to add it."


def test_a_sync_without_a_write_key_says_to_add_it_with_keys(profile: Profile) -> None:
    sentence = _sentence_of(CallexaError, lambda: sync_ratings(profile, ""))

    assert window_sentence(sentence) == "No Segment write key is set. Open Keys… to add it."


def test_a_malformed_write_key_says_to_replace_it_with_keys() -> None:
    sentence = _sentence_of(CallexaError, lambda: SegmentClient("http://127.0.0.1:9", "a b"))

    assert window_sentence(sentence) == (
        "The Segment write key contains characters a key cannot have. Open Keys… to replace it."
    )


def test_a_malformed_callexa_key_says_to_replace_it_with_keys() -> None:
    sentence = _sentence_of(CallexaError, lambda: CallexaClient("http://127.0.0.1:9", "a b"))

    assert key_named_in(sentence) == KeyName.CALLEXA
    assert "Open Keys… to replace it" in window_sentence(sentence)


def test_the_window_error_keeps_the_original_in_its_details() -> None:
    original = TaskError(
        "Segment refused the write key (HTTP 401); nothing more was sent. Store the right key "
        "with `callexa-desktop keys set segment` and check the endpoint region.",
        "SyncRefused: …",
    )

    shown = for_the_window(original)

    assert shown.sentence == (
        "Segment refused the write key. Open Keys… to check or replace it. If the key is "
        "right, check the Segment endpoint in Settings."
    )
    assert shown.key_name == KeyName.SEGMENT
    assert shown.details.splitlines() == [original.sentence, original.details]


def test_an_error_about_something_else_is_shown_as_it_is() -> None:
    original = TaskError("Segment did not answer in time; the ratings wait for the next sync.")

    assert for_the_window(original) is original
    assert window_sentence(original.sentence) == original.sentence
