"""Settings, declared once: key, type, default, label and help in one table.

Values live in the ``setting`` table as text. ``set_setting`` validates a value
and the combination it makes with the others before anything is stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from sqlmodel import Session, select

from callexa_desktop.core.errors import SettingRefused
from callexa_desktop.core.models import Setting

SEGMENT_US_ENDPOINT = "https://api.segment.io"
SEGMENT_EU_ENDPOINT = "https://events.eu1.segmentapis.com"
CALLEXA_DEFAULT_BASE_URL = "https://api.callexa.com/v1"


@dataclass(frozen=True)
class Settings:
    """Every setting with its current value. Immutable: change it with ``set_setting``."""

    min_delay_days: int = 0
    max_delay_days: int = 0
    min_interval_weeks: int = 26
    monthly_budget: int = 0
    callexa_base_url: str = CALLEXA_DEFAULT_BASE_URL
    segment_endpoint: str = SEGMENT_US_ENDPOINT
    sync_time: str = "06:00"  # local wall-clock time of the daily sync, HH:MM
    auto_send: bool = False
    poll_folder: str = ""
    poll_url: str = ""
    poll_interval_minutes: int = 15
    close_to_tray: bool = False


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: str
    help: str
    parse: Callable[[str], Any]


def _non_negative_int(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError("must be a whole number (0 or more)") from None
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise ValueError("must be at least 1")
    return value


def _http_url(text: str) -> str:
    value = text.strip().rstrip("/")
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must be a web address starting with http:// or https://")
    return value


def _optional_http_url(text: str) -> str:
    return _http_url(text) if text.strip() else ""


def _time_of_day(text: str) -> str:
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError("must be a time of day like 06:00")
    return f"{int(match[1]):02d}:{match[2]}"


def _boolean(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be on or off (true/false)")


def _text(text: str) -> str:
    return text.strip()


SPECS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        SettingSpec(
            "min_delay_days",
            "Minimum delay (days)",
            "Wait at least this long after the customer's creation before surveying.",
            _non_negative_int,
        ),
        SettingSpec(
            "max_delay_days",
            "Maximum delay (days)",
            "Customers older than this when identified are not surveyed; 0 turns this off.",
            _non_negative_int,
        ),
        SettingSpec(
            "min_interval_weeks",
            "Minimum interval (weeks)",
            "Survey a customer at most once in this many weeks.",
            _non_negative_int,
        ),
        SettingSpec(
            "monthly_budget",
            "Monthly budget (surveys)",
            "Surveys that may be sent per calendar month; 0 means no limit.",
            _non_negative_int,
        ),
        SettingSpec(
            "callexa_base_url",
            "Callexa API address",
            "Where surveys are sent and responses fetched.",
            _http_url,
        ),
        SettingSpec(
            "segment_endpoint",
            "Segment endpoint",
            f"Segment's Tracking API: {SEGMENT_US_ENDPOINT} (US) or {SEGMENT_EU_ENDPOINT} (EU).",
            _http_url,
        ),
        SettingSpec(
            "sync_time",
            "Daily sync time",
            "Local time of day at which ratings are pushed to Segment.",
            _time_of_day,
        ),
        SettingSpec(
            "auto_send", "Send automatically", "Send due surveys while the app runs.", _boolean
        ),
        SettingSpec(
            "poll_folder",
            "Watched folder",
            "New identify export files dropped here are imported.",
            _text,
        ),
        SettingSpec(
            "poll_url",
            "Identify feed URL",
            "An address serving identify records, checked on an interval.",
            _optional_http_url,
        ),
        SettingSpec(
            "poll_interval_minutes",
            "Check every (minutes)",
            "How often the watched folder and feed are checked.",
            _positive_int,
        ),
        SettingSpec(
            "close_to_tray",
            "Keep running in the tray",
            "Closing the window keeps the app syncing in the system tray.",
            _boolean,
        ),
    )
}

assert set(SPECS) == {f.name for f in fields(Settings)}, "every setting needs a spec"


def parse_setting(key: str, text: str) -> Any:
    """The typed value of ``text`` for ``key``; SettingRefused with the reason otherwise."""
    spec = SPECS.get(key)
    if spec is None:
        known = ", ".join(SPECS)
        raise SettingRefused(f"There is no setting called {key!r}; the settings are: {known}.")
    try:
        return spec.parse(text)
    except ValueError as error:
        raise SettingRefused(f"{spec.label} ({key}) {error}.") from None


def check_settings(settings: Settings) -> None:
    """Refuse combinations that cannot work together."""
    if settings.max_delay_days > 0 and settings.min_delay_days > settings.max_delay_days:
        raise SettingRefused(
            f"The minimum delay ({settings.min_delay_days} days) cannot be longer than the "
            f"maximum delay ({settings.max_delay_days} days): no customer would ever be "
            "surveyed. Lower the minimum, raise the maximum, or set the maximum to 0."
        )


def with_value(settings: Settings, key: str, text: str) -> Settings:
    """``settings`` with ``key`` changed to the parsed ``text``, checked as a whole."""
    changed = replace(settings, **{key: parse_setting(key, text)})
    check_settings(changed)
    return changed


def load_settings(session: Session) -> Settings:
    """The stored settings; anything not stored (or no longer parseable) takes its default."""
    stored = {row.key: row.value for row in session.exec(select(Setting))}
    values: dict[str, Any] = {}
    for key, spec in SPECS.items():
        if key in stored:
            try:
                values[key] = spec.parse(stored[key])
            except ValueError:
                continue
    return Settings(**values)


def set_setting(session: Session, key: str, text: str) -> Settings:
    """Validate and store one setting; returns the new settings. Caller commits."""
    updated = with_value(load_settings(session), key, text)
    save_settings(session, updated)
    return updated


def save_settings(session: Session, settings: Settings) -> None:
    """Store every setting of ``settings`` after checking the combination. Caller commits."""
    check_settings(settings)
    for spec_field in fields(settings):
        value = getattr(settings, spec_field.name)
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        session.merge(Setting(key=spec_field.name, value=text))


def settings_as_dict(settings: Settings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in fields(settings)}


def describe_rules(settings: Settings) -> str:
    """One plain sentence that explains what the delay rules do, for the settings dialog."""
    if settings.min_delay_days:
        first = f"New customers are surveyed {_days(settings.min_delay_days)} after sign-up"
    else:
        first = "Customers are surveyed as soon as they are identified"
    if settings.max_delay_days:
        too_old = _days(settings.max_delay_days)
        second = f"customers older than {too_old} when identified are never surveyed"
    else:
        second = "every identify can lead to a survey"
    if settings.min_interval_weeks:
        weeks = settings.min_interval_weeks
        third = f"nobody more than once every {weeks} week{'s' if weeks != 1 else ''}"
    else:
        third = "with no minimum interval between surveys"
    budget = (
        f" At most {settings.monthly_budget} surveys are sent per month."
        if settings.monthly_budget
        else ""
    )
    return f"{first}; {second}; {third}.{budget}"


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"
