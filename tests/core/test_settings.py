"""Settings are validated one by one and as a whole before anything is stored."""

from __future__ import annotations

import pytest

from callexa_desktop.core.errors import SettingRefused
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.settings import Settings, describe_rules, load_settings, set_setting


def test_defaults_follow_the_specification(profile: Profile) -> None:
    settings = profile.settings()
    assert (settings.min_delay_days, settings.max_delay_days) == (0, 0)
    assert settings.min_interval_weeks == 26
    assert settings.monthly_budget == 0
    assert settings.segment_endpoint == "https://api.segment.io"


def test_a_setting_is_stored_and_read_back(profile: Profile) -> None:
    with profile.database.session() as session:
        set_setting(session, "min_delay_days", " 3 ")
    assert profile.settings().min_delay_days == 3


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("min_delay_days", "-1", "must not be negative"),
        ("min_delay_days", "three", "must be a whole number"),
        ("monthly_budget", "1.5", "must be a whole number"),
        ("segment_endpoint", "ftp://x", "must be a web address"),
        ("sync_time", "25:00", "time of day"),
        ("poll_interval_minutes", "0", "at least 1"),
        ("no_such_setting", "1", "There is no setting called"),
    ],
)
def test_bad_values_are_refused_with_a_reason(
    profile: Profile, key: str, value: str, message: str
) -> None:
    with profile.database.session() as session, pytest.raises(SettingRefused, match=message):
        set_setting(session, key, value)


def test_min_delay_longer_than_max_delay_is_refused_and_nothing_changes(profile: Profile) -> None:
    with profile.database.session() as session:
        set_setting(session, "max_delay_days", "14")
    with (
        profile.database.session() as session,
        pytest.raises(SettingRefused, match="cannot be longer"),
    ):
        set_setting(session, "min_delay_days", "15")
    with profile.database.session() as session:
        assert load_settings(session).min_delay_days == 0


def test_min_delay_may_exceed_a_switched_off_max_delay(profile: Profile) -> None:
    with profile.database.session() as session:
        assert set_setting(session, "min_delay_days", "30").min_delay_days == 30


def test_rules_are_explained_in_one_sentence() -> None:
    sentence = describe_rules(Settings(min_delay_days=3, max_delay_days=14))
    assert sentence == (
        "New customers are surveyed 3 days after sign-up; customers older than 14 days "
        "when identified are never surveyed; nobody more than once every 26 weeks."
    )
