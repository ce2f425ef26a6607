"""The demo: a throwaway profile with sample customers, a queue and responses, on the sandbox.

``open_demo_profile()`` makes a profile in a fresh temporary folder, starts the local
sandbox (a stand-in for Callexa and Segment on 127.0.0.1) in this process, points the
settings at it, and fills the profile through the same core functions the operator's
own data goes through: a generated NDJSON export imported with
``core.importing.import_files`` (which decides the queue) and past responses recorded
with ``core.responses.record_responses``.

The demo keys are made up at start and live only in memory: an in-memory keyring backend
is registered for the demo folder (``services.keychain.use_backend_for``), so every
``Keychain`` of the demo profile finds them and nothing is written to the operator's keychain.
``Demo.close()`` stops the sandbox and deletes the folder (also done at interpreter exit
as a safety net).
"""

from __future__ import annotations

import atexit
import json
import logging
import random
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from callexa_desktop.core.clock import Clock, iso_utc, utc_now
from callexa_desktop.core.importing import import_files
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.responses import ResponseRecord, record_responses
from callexa_desktop.core.settings import load_settings, save_settings
from callexa_desktop.services.keychain import Keychain, KeyName, use_backend_for
from callexa_desktop.services.sandbox import Sandbox

log = logging.getLogger(__name__)

DEMO_LABEL = "DEMO"
DEMO_FOLDER_PREFIX = "callexa-demo-"

_FIRST_NAMES = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Keiko",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wen",
    "Xavier",
    "Yara",
    "Zane",
]
_LAST_NAMES = [
    "Adams",
    "Berg",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jansen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Weber",
]
_COMMENTS = {
    "promoter": ["Lovely service, thank you!", "Fast delivery and kind support.", ""],
    "passive": ["Good, but a bit expensive.", "Fine overall.", ""],
    "detractor": ["My order arrived late twice.", "Support took days to answer.", ""],
}


class InMemoryKeyring(KeyringBackend):
    """A keyring that keeps the demo keys in this process only; nothing touches the disk."""

    priority = 0.1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self._secrets: dict[tuple[str, str], str] = {}

    @property
    def name(self) -> str:  # type: ignore[override]
        return "the demo's in-memory keychain (forgotten when the demo closes)"

    def get_password(self, service: str, username: str) -> str | None:
        return self._secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self._secrets.pop((service, username), None) is None:
            raise PasswordDeleteError("no such key in the demo keychain")


@dataclass
class Demo:
    """An open demo: its profile, the running sandbox and the in-memory keychain.

    Unpacks as ``profile, sandbox = open_demo_profile()``. Call ``close()`` when done.
    """

    profile: Profile
    sandbox: Sandbox
    keychain: Keychain
    folder: Path
    summary: dict[str, Any] = field(default_factory=dict)
    _closed: bool = False

    def __iter__(self) -> Iterator[Any]:
        return iter((self.profile, self.sandbox))

    def simulate_replies(self, count: int | None = None) -> int:
        """Let surveyed customers answer in the sandbox (pulled at the next sync)."""
        return len(self.sandbox.callexa.simulate_replies(count))

    def close(self) -> None:
        """Stop the sandbox, close the profile and delete the demo folder."""
        if self._closed:
            return
        self._closed = True
        self.sandbox.stop()
        use_backend_for(self.profile.data_dir, None)
        self.profile.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        log.info("Closed the demo and deleted %s", self.folder)


def open_demo_profile(
    *, clock: Clock = utc_now, seed: int = 7, customers: int = 48, port: int = 0
) -> Demo:
    """A new demo: profile in a temporary folder, sandbox running, sample data imported.

    ``clock`` is the profile's and the sandbox's clock; ``seed`` makes the sample data
    repeatable; ``customers`` is how many new sign-ups the sample export holds (plus a
    few long-standing customers with past responses). Raises OSError when the sandbox
    cannot listen on ``port``.
    """
    folder = Path(tempfile.mkdtemp(prefix=DEMO_FOLDER_PREFIX))
    sandbox = Sandbox(clock=clock, seed=seed)
    profile: Profile | None = None
    try:
        sandbox.start(port)
        profile = Profile.open(folder / "profile", clock=clock, demo=True)
        # Every Keychain for this folder in this process (status bar, send flow) sees the demo keys.
        use_backend_for(profile.data_dir, InMemoryKeyring())
        keychain = Keychain(profile.data_dir)
        # Made-up keys, kept in memory only; the sandbox accepts any non-empty key.
        keychain.set(KeyName.CALLEXA, "demo-" + secrets.token_hex(12))
        keychain.set(KeyName.SEGMENT, "demo-" + secrets.token_hex(12))
        _point_at_sandbox(profile, sandbox)
        demo = Demo(profile, sandbox, keychain, folder)
        demo.summary = _fill(profile, folder, random.Random(seed), customers)
    except BaseException:
        sandbox.stop()
        if profile is not None:
            use_backend_for(profile.data_dir, None)
            profile.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    atexit.register(demo.close)
    log.info("Opened a demo profile in %s with the sandbox at %s", folder, sandbox.url)
    return demo


def _point_at_sandbox(profile: Profile, sandbox: Sandbox) -> None:
    with profile.database.session() as session:
        settings = replace(
            load_settings(session),
            callexa_base_url=sandbox.callexa_base_url,
            segment_endpoint=sandbox.segment_endpoint,
            min_delay_days=3,
            max_delay_days=14,
            monthly_budget=200,
        )
        save_settings(session, settings)


@dataclass(frozen=True)
class _SampleCustomer:
    email: str
    first_name: str
    last_name: str
    user_id: str | None
    anonymous_id: str | None
    created_at: datetime
    identified_at: datetime
    regular: bool  # a long-standing customer with a past response


def _fill(profile: Profile, folder: Path, rng: random.Random, newcomers: int) -> dict[str, Any]:
    """Import generated identify records, then record past responses of older customers."""
    now = profile.clock()
    sample = _sample_customers(rng, now, newcomers, regulars=max(6, newcomers // 4))
    export = folder / "demo-identify.ndjson"
    with export.open("w", encoding="utf-8") as out:
        for number, customer in enumerate(sample):
            out.write(json.dumps(_identify(customer, number)) + "\n")
    imported = import_files(profile, [export])
    responses = [_past_response(rng, customer, now) for customer in sample if customer.regular]
    # Their earlier answers, from a generator of their own so the latest ones stay as they were.
    history = random.Random(rng.getrandbits(32))
    responses += [
        earlier for latest in responses for earlier in _earlier_responses(history, latest, now)
    ]
    responses.append(
        # Someone who answered but was never identified: listed as not syncable.
        ResponseRecord(
            email="walk-in.customer@example.com",
            rating=8,
            comment="Found you through a friend.",
            answered_at=now - timedelta(days=2),
            source="demo",
            response_id="demo-response-walk-in",
        )
    )
    with profile.database.session() as session:
        recorded = record_responses(session, responses, source="demo", now=now)
    return {"identify": imported.as_dict(), "responses": recorded.as_dict()}


def _sample_customers(
    rng: random.Random, now: datetime, newcomers: int, *, regulars: int
) -> list[_SampleCustomer]:
    customers = []
    for number in range(newcomers + regulars):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        regular = number >= newcomers
        if regular:
            # Long-standing customers identified again this week (too old to survey now).
            created = now - timedelta(days=rng.randint(200, 900))
            identified = now - timedelta(days=rng.uniform(0, 6))
        else:
            # Sign-ups of the last week: with a 3-day delay, about half are due now.
            created = now - timedelta(days=rng.uniform(0, 6), minutes=rng.randint(0, 600))
            identified = min(now, created + timedelta(minutes=rng.randint(1, 90)))
        # Every fifth customer is known to Segment by an anonymousId only.
        anonymous = number % 5 == 4
        customers.append(
            _SampleCustomer(
                email=f"{first}.{last}.{number}@example.com".lower(),
                first_name=first,
                last_name=last,
                user_id=None if anonymous else f"user-{number:04d}",
                anonymous_id=f"anon-{number:04d}" if anonymous else None,
                created_at=created,
                identified_at=identified,
                regular=regular,
            )
        )
    return customers


def _identify(customer: _SampleCustomer, number: int) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "identify",
        "messageId": f"demo-identify-{number:05d}",
        "timestamp": iso_utc(customer.identified_at),
        "traits": {
            "email": customer.email,
            "firstName": customer.first_name,
            "lastName": customer.last_name,
            "createdAt": iso_utc(customer.created_at),
        },
    }
    if customer.user_id:
        message["userId"] = customer.user_id
    if customer.anonymous_id:
        message["anonymousId"] = customer.anonymous_id
    return message


def _earlier_responses(
    rng: random.Random, latest: ResponseRecord, now: datetime
) -> list[ResponseRecord]:
    """Answers a long-standing customer gave before ``latest``, every month or two over
    the last year, rated a little lower the longer ago (the Responses tab's trend rises)."""
    earlier = []
    answered = latest.answered_at
    while True:
        answered -= timedelta(days=rng.randint(30, 55), minutes=rng.randint(0, 900))
        age = (now - answered).days
        if age > 360:
            return earlier
        # Detractor weights fall and promoter weights grow as the answers get more recent.
        old = min(age, 360) / 360
        weights = [0.3 + 0.8 * old] * 7 + [4, 6, 10 - 4 * old, 9 - 4 * old]
        rating = rng.choices(range(11), weights=weights)[0]
        kind = "promoter" if rating >= 9 else "passive" if rating >= 7 else "detractor"
        earlier.append(
            ResponseRecord(
                email=latest.email,
                rating=rating,
                comment=rng.choice(_COMMENTS[kind]),
                answered_at=answered,
                sent_at=answered - timedelta(hours=rng.randint(1, 48)),
                source="demo",
                response_id=f"{latest.response_id}-{len(earlier) + 1}",
            )
        )


def _past_response(rng: random.Random, customer: _SampleCustomer, now: datetime) -> ResponseRecord:
    answered = now - timedelta(days=rng.randint(3, 150), minutes=rng.randint(0, 900))
    # Weighted towards the ratings real NPS surveys tend to get.
    rating = rng.choices(range(11), weights=[1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 9])[0]
    kind = "promoter" if rating >= 9 else "passive" if rating >= 7 else "detractor"
    return ResponseRecord(
        email=customer.email,
        rating=rating,
        comment=rng.choice(_COMMENTS[kind]),
        answered_at=answered,
        sent_at=answered - timedelta(hours=rng.randint(1, 48)),
        source="demo",
        response_id=f"demo-response-{customer.email}",
    )
