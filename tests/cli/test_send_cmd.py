"""``send``: keys from the keychain or environment, summary and exit status, and a kill
mid-send followed by a rerun that emails nobody twice and loses nothing."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from callexa_desktop.cli.main import main
from callexa_desktop.core.clock import utc_now
from callexa_desktop.core.models import Survey
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.settings import set_setting
from callexa_desktop.services.callexa import CallexaClient, idempotency_key_for
from callexa_desktop.services.sandbox import Sandbox
from callexa_desktop.services.sending import send_due
from tests.core.survey_rows import add_surveys
from tests.services.memory_keyring import MemoryKeyring

CONSOLE_SCRIPT = Path(sys.executable).with_name("callexa-desktop")


@pytest.fixture
def api_key() -> str:
    return secrets.token_hex(16)


@pytest.fixture
def sandbox(api_key: str) -> Iterator[Sandbox]:
    with Sandbox(callexa_api_key=api_key) as running:
        yield running


def prepare_profile(data_dir: Path, sandbox: Sandbox, due: int) -> list[str]:
    """A profile pointed at the sandbox with ``due`` surveys due now; their survey keys."""
    profile = Profile.open(data_dir)
    try:
        with profile.database.session() as session:
            set_setting(session, "callexa_base_url", sandbox.callexa_base_url)
        ids = add_surveys(profile, due, send_at=utc_now() - timedelta(hours=1))
        with profile.database.session() as session:
            keys = {s.id: s.key for s in session.exec(select(Survey))}
        return [keys[i] for i in ids]
    finally:
        profile.close()


def survey_states(data_dir: Path) -> dict[str, str]:
    profile = Profile.open(data_dir)
    try:
        with profile.database.session() as session:
            return {s.key: s.status for s in session.exec(select(Survey))}
    finally:
        profile.close()


def files_containing(folder: Path, *secrets_: str) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            if any(s.encode() in content for s in secrets_):
                found.append(str(path))
    return found


def test_send_uses_the_key_from_the_environment_and_reports(
    data_dir: Path,
    sandbox: Sandbox,
    api_key: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prepare_profile(data_dir, sandbox, 3)
    monkeypatch.setenv("CALLEXA_API_KEY", api_key)

    assert main(["--data-dir", str(data_dir), "send"]) == 0

    assert capsys.readouterr().out.strip() == "Sent 3 surveys."
    assert len(sandbox.callexa.emails) == 3


def test_send_json_gives_the_summary_fields(
    data_dir: Path,
    sandbox: Sandbox,
    api_key: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prepare_profile(data_dir, sandbox, 2)
    monkeypatch.setenv("CALLEXA_API_KEY", api_key)

    assert main(["--data-dir", str(data_dir), "send", "--json"]) == 0

    summary = json.loads(capsys.readouterr().out)
    assert (summary["sent"], summary["failed"], summary["ok"], summary["dry_run"]) == (
        2,
        0,
        True,
        False,
    )
    assert isinstance(summary["run_id"], int)


def test_a_dry_run_needs_no_key_and_sends_nothing(
    data_dir: Path, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    prepare_profile(data_dir, sandbox, 2)

    assert main(["--data-dir", str(data_dir), "send", "--dry-run"]) == 0

    assert capsys.readouterr().out.strip() == "Would send 2 surveys."
    assert sandbox.callexa.send_requests == 0
    assert set(survey_states(data_dir).values()) == {"scheduled"}


def test_without_a_key_send_says_how_to_set_one(
    data_dir: Path, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    prepare_profile(data_dir, sandbox, 1)

    assert main(["--data-dir", str(data_dir), "send"]) == 1

    err = capsys.readouterr().err
    assert "keys set callexa" in err
    assert "CALLEXA_API_KEY" in err
    assert sandbox.callexa.send_requests == 0


def test_a_refused_key_fails_the_command_with_one_sentence_and_no_key(
    data_dir: Path,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prepare_profile(data_dir, sandbox, 2)
    wrong = secrets.token_hex(16)
    monkeypatch.setenv("CALLEXA_API_KEY", wrong)

    assert main(["--data-dir", str(data_dir), "send"]) == 1

    out, err = capsys.readouterr()
    assert err.startswith("callexa-desktop: Callexa refused the API key (401)")
    assert err.count("\n") == 1
    assert wrong not in out + err
    assert set(survey_states(data_dir).values()) == {"scheduled"}


def test_a_send_killed_mid_flight_and_rerun_emails_everyone_exactly_once(
    data_dir: Path, sandbox: Sandbox, api_key: str
) -> None:
    survey_keys = prepare_profile(data_dir, sandbox, 6)
    # The third survey's email goes out, then its reply hangs until the process is dead.
    in_flight = sandbox.faults.hold_next(after_handling=True, skip=2, path="/callexa/surveys")
    env = {**os.environ, "CALLEXA_API_KEY": api_key}
    command = [str(CONSOLE_SCRIPT), "--data-dir", str(data_dir), "send", "--json"]

    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert in_flight.wait_arrived(timeout=60), "the third send never reached the sandbox"
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        in_flight.release()
    assert first.returncode == -signal.SIGKILL

    killed_state = survey_states(data_dir)
    assert sorted(killed_state.values()) == ["scheduled"] * 3 + ["sending"] + ["sent"] * 2
    assert killed_state[survey_keys[2]] == "sending"
    assert len(sandbox.callexa.emails) == 3

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert (summary["recovered"], summary["sent"], summary["replayed"]) == (1, 4, 1)
    assert set(survey_states(data_dir).values()) == {"sent"}
    per_key = sandbox.callexa.emails_per_idempotency_key()
    assert per_key == {idempotency_key_for(key): 1 for key in survey_keys}
    assert files_containing(data_dir, api_key) == []
    assert api_key not in rerun.stdout + rerun.stderr


def test_after_a_full_run_no_key_is_in_the_profile_files_logs_or_output(
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.services.memory_keyring.MemoryKeyring")
    MemoryKeyring.store.clear()
    callexa_key, segment_key = secrets.token_hex(16), secrets.token_hex(16)
    caplog.set_level(logging.INFO)
    folder = ["--data-dir", str(data_dir)]
    outputs = []

    with Sandbox(callexa_api_key=callexa_key, segment_write_key=segment_key) as sandbox:
        prepare_profile(data_dir, sandbox, 3)
        for name, key in (("callexa", callexa_key), ("segment", segment_key)):
            monkeypatch.setattr("sys.stdin", io.StringIO(key + "\n"))
            assert main([*folder, "keys", "set", name]) == 0
        assert main([*folder, "keys", "status"]) == 0
        assert main([*folder, "keys", "status", "--json"]) == 0
        assert main([*folder, "send", "--dry-run"]) == 0
        assert main([*folder, "send", "--json"]) == 0
        assert len(sandbox.callexa.emails) == 3
        # A run refused with a 401 must not echo the key either.
        sandbox.callexa.api_key = secrets.token_hex(16)
        later = Profile.open(data_dir)
        add_surveys(later, 1, send_at=utc_now(), prefix="late")
        later.close()
        assert main([*folder, "send"]) == 1
        outputs.append(capsys.readouterr())
    MemoryKeyring.store.clear()

    log_file = data_dir / "logs" / "callexa-desktop.log"
    assert log_file.stat().st_size > 0
    assert (data_dir / "callexa.sqlite3").exists()
    assert files_containing(data_dir, callexa_key, segment_key) == []
    printed = "".join(o.out + o.err for o in outputs)
    assert '"sent": 3' in printed
    assert "Callexa refused the API key" in printed
    assert "send run" in caplog.text  # the runs were logged, so the scan below means something
    assert callexa_key not in printed
    assert segment_key not in printed
    assert callexa_key not in caplog.text
    assert segment_key not in caplog.text


def test_debug_logging_of_the_http_calls_never_contains_the_key(
    profile: Profile, api_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with Sandbox(callexa_api_key=api_key) as sandbox:
        add_surveys(profile, 2, send_at=profile.clock() - timedelta(hours=1))
        with CallexaClient(sandbox.callexa_base_url, api_key) as client:
            sandbox.faults.fail_next(1, 503)
            send_due(profile, client, sleep=lambda _: None)

    assert "HTTP Request" in caplog.text  # httpx did log the requests
    assert api_key not in caplog.text
