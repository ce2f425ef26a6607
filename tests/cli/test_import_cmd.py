"""``import [--json] FILE...``: counts, rejected records, and one sentence for unreadable files."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from callexa_desktop.cli.main import main


def identify(number: int, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "identify",
        "messageId": f"msg-{number}",
        "userId": f"user-{number}",
        "timestamp": "2026-03-01T08:00:00Z",
        "traits": {"email": f"customer{number}@example.com", "name": f"Customer {number}"},
    }
    message.update(extra)
    return message


def write_ndjson(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def good_and_bad(path: Path, good: int, bad: int) -> Path:
    lines = [json.dumps(identify(n)) for n in range(good)]
    lines += ["{not json" for _ in range(bad)]
    return write_ndjson(path, lines)


def run(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), "import", *[str(a) for a in args]])


def test_a_summary_lists_counts_decisions_and_the_rejected_records(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = good_and_bad(tmp_path / "export.ndjson", good=3, bad=2)

    assert run(data_dir, export) == 0

    out, err = capsys.readouterr()
    assert "Read 5 records from 1 file: 3 new, 0 duplicates, 2 rejected." in out
    assert "3 scheduled, 0 already queued" in out
    assert f"{export}:4 malformed_json" in out
    assert f"{export}:5 malformed_json" in out
    assert "--json" not in out
    assert err == ""


def test_only_the_first_rejected_records_are_shown_with_a_hint_to_use_json(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = good_and_bad(tmp_path / "export.ndjson", good=1, bad=25)

    assert run(data_dir, export) == 0

    out, _ = capsys.readouterr()
    assert "Rejected records (first 20 of 25):" in out
    assert out.count("malformed_json") == 20
    assert "Use --json to list every rejected record." in out


def test_json_output_has_the_counts_decisions_and_every_rejected_record(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = good_and_bad(tmp_path / "export.ndjson", good=2, bad=25)

    assert run(data_dir, "--json", export) == 0

    report = json.loads(capsys.readouterr().out)
    assert (report["read"], report["accepted"], report["duplicates"]) == (27, 2, 0)
    assert report["rejected"] == 25
    assert report["decisions"] == {
        "scheduled": 2,
        "already_queued": 0,
        "skipped_too_old": 0,
        "skipped_interval": 0,
    }
    assert report["refused_files"] == []
    assert isinstance(report["notices"], list)
    assert len(report["rejected_records"]) == 25
    first = report["rejected_records"][0]
    assert {"file": first["file"], "line": first["line"], "reason": first["reason"]} == {
        "file": str(export),
        "line": 3,
        "reason": "malformed_json",
    }
    assert "detail" in first


def test_json_output_without_rejections_is_still_one_valid_object(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = good_and_bad(tmp_path / "export.ndjson", good=1, bad=0)
    assert run(data_dir, "--json", export) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rejected_records"] == []
    assert report["accepted"] == 1


def test_importing_the_same_file_twice_reports_duplicates_and_schedules_nothing(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = good_and_bad(tmp_path / "export.ndjson", good=4, bad=0)
    assert run(data_dir, "--json", export) == 0
    capsys.readouterr()

    assert run(data_dir, "--json", export) == 0

    report = json.loads(capsys.readouterr().out)
    assert (report["accepted"], report["duplicates"]) == (0, 4)
    assert report["decisions"]["scheduled"] == 0


def test_a_missing_file_fails_with_one_sentence_while_good_files_still_import(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = good_and_bad(tmp_path / "good.ndjson", good=2, bad=0)
    missing = tmp_path / "missing.ndjson"

    assert run(data_dir, "--json", missing, good) == 1

    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["accepted"] == 2
    assert [r["file"] for r in report["refused_files"]] == [str(missing)]
    assert err.count("\n") == 1
    assert err.startswith("callexa-desktop: ")
    assert "missing.ndjson" in err
    assert "Traceback" not in err


def test_a_truncated_gzip_is_refused_and_nothing_of_it_is_kept(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = "".join(json.dumps(identify(n)) + "\n" for n in range(2000)).encode()
    packed = gzip.compress(lines)
    truncated = tmp_path / "export.ndjson.gz"
    truncated.write_bytes(packed[: len(packed) * 3 // 4])

    assert run(data_dir, truncated) == 1

    out, err = capsys.readouterr()
    assert "Read 0 records from 0 files" in out
    assert err.count("\n") == 1
    assert "export.ndjson.gz" in err
    assert "Traceback" not in err


def test_a_binary_file_is_refused_with_one_sentence(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "picture.png"
    binary.write_bytes(bytes(range(256)) * 64)

    assert run(data_dir, binary) == 1

    _, err = capsys.readouterr()
    assert err.startswith("callexa-desktop: ")
    assert "picture.png" in err
    assert err.count("\n") == 1


def test_the_installed_command_exits_non_zero_with_a_sentence_for_a_missing_file(
    tmp_path: Path,
) -> None:
    command = Path(sys.executable).with_name("callexa-desktop")
    missing = tmp_path / "nowhere.ndjson"
    environment = {**os.environ, "CALLEXA_DESKTOP_HOME": str(tmp_path / "home")}

    finished = subprocess.run(
        [str(command), "import", str(missing)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 1
    lines = finished.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("callexa-desktop: ")
    assert "nowhere.ndjson" in lines[0]
    assert "Traceback" not in finished.stderr
