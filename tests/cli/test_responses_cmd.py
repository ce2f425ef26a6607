"""``responses import`` and ``responses pull``: summaries, rejections with their place, exits."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from callexa_desktop.cli.main import main
from callexa_desktop.core.profile import Profile
from callexa_desktop.core.settings import set_setting
from callexa_desktop.services.sandbox import Sandbox

EXPORT = (
    "email,rating,comment,answered_at\n"
    "ada@example.com,9,Great,2026-11-01T08:00:00Z\n"
    "bob@example.com,7.5,,2026-11-01T08:00:00Z\n"
    "cy@example.com,11,,2026-11-01T08:00:00Z\n"
)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(EXPORT, encoding="utf-8")
    return path


def test_import_reports_what_was_recorded_and_where_rejections_were(
    data_dir: Path, export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(data_dir), "responses", "import", str(export)]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Recorded 1 new response (2 rejected, 1 new customer)."
    assert lines[1].startswith("  rejected export.csv:3: invalid_rating")
    assert lines[2].startswith("  rejected export.csv:4: rating_out_of_range")


def test_import_json_lists_every_rejected_record(
    data_dir: Path, export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(data_dir), "responses", "import", "--json", str(export)]) == 0

    summary = json.loads(capsys.readouterr().out)
    assert (summary["read"], summary["recorded"], summary["rejected"]) == (3, 1, 2)
    assert [(r["file"], r["line"], r["reason"]) for r in summary["rejected_records"]] == [
        ("export.csv", 3, "invalid_rating"),
        ("export.csv", 4, "rating_out_of_range"),
    ]


def test_importing_the_same_file_again_records_nothing_new(
    data_dir: Path, export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--data-dir", str(data_dir), "responses", "import", str(export)])
    capsys.readouterr()
    assert main(["--data-dir", str(data_dir), "responses", "import", "--json", str(export)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["recorded"], summary["duplicates"]) == (0, 1)


def test_an_unreadable_file_fails_with_one_sentence_and_the_others_are_imported(
    data_dir: Path, export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "photo.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")

    args = ["--data-dir", str(data_dir), "responses", "import", str(binary), str(export)]
    assert main(args) == 1

    out, err = capsys.readouterr()
    assert out.startswith("Recorded 1 new response")
    assert err.strip() == (
        "callexa-desktop: The file photo.png is binary, not a CSV or JSON export."
    )


@pytest.fixture
def sandbox() -> Iterator[tuple[Sandbox, str]]:
    key = secrets.token_hex(16)
    with Sandbox(callexa_api_key=key) as running:
        yield running, key


def test_pull_fetches_responses_with_the_key_from_the_environment(
    data_dir: Path,
    sandbox: tuple[Sandbox, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    running, key = sandbox
    profile = Profile.open(data_dir)
    with profile.database.session() as session:
        set_setting(session, "callexa_base_url", running.callexa_base_url)
    profile.close()
    running.callexa.responses.append(
        {
            "id": "rsp_1",
            "email": "ada@example.com",
            "rating": 10,
            "comment": "",
            "answered_at": "2026-11-01T08:00:00Z",
            "sent_at": None,
            "survey_key": None,
        }
    )
    monkeypatch.setenv("CALLEXA_API_KEY", key)

    assert main(["--data-dir", str(data_dir), "responses", "pull", "--json"]) == 0

    out = capsys.readouterr().out
    summary = json.loads(out)
    assert (summary["recorded"], summary["pages"]) == (1, 1)
    assert key not in out


def test_pull_without_a_key_says_how_to_set_one(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(data_dir), "responses", "pull"]) == 1
    err = capsys.readouterr().err
    assert "keys set callexa" in err
    assert "CALLEXA_API_KEY" in err
