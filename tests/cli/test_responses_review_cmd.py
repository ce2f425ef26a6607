"""``responses report``, ``list``, ``export`` and ``follow-up``: text, JSON, files and refusals."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from callexa_desktop.cli.main import main

Run = Callable[..., tuple[int, str, str]]

# Ten responses: 4 promoters, 3 passives, 3 detractors -> NPS +10.
EXPORT = (
    "email,rating,comment,answered_at\n"
    "ada@example.com,10,Lovely,2026-11-02T08:00:00Z\n"
    "bo@example.com,9,,2026-11-03T08:00:00Z\n"
    "cy@example.com,9,,2026-10-10T08:00:00Z\n"
    "di@example.com,10,,2026-09-10T08:00:00Z\n"
    "ed@example.com,8,,2026-11-04T08:00:00Z\n"
    "fa@example.com,7,,2026-11-05T08:00:00Z\n"
    "gu@example.com,7,,2026-10-11T08:00:00Z\n"
    "hu@example.com,6,Too slow,2026-11-06T08:00:00Z\n"
    "io@example.com,0,=HYPERLINK(1),2026-11-07T08:00:00Z\n"
    "ju@example.com,3,,2026-11-01T02:00:00Z\n"
)


@pytest.fixture
def run(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    """Runs the command line on a profile holding EXPORT; returns (status, stdout, stderr)."""
    export = tmp_path / "export.csv"
    export.write_text(EXPORT, encoding="utf-8")
    assert main(["--data-dir", str(data_dir), "responses", "import", str(export)]) == 0
    capsys.readouterr()

    def invoke(*argv: str) -> tuple[int, str, str]:
        status = main(["--data-dir", str(data_dir), "responses", *argv])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return invoke


def test_report_gives_score_counts_distribution_and_trend_in_words(run: Run) -> None:
    status, out, err = run("report", "--until", "2026-12-01", "--tz", "UTC", "--periods", "3")

    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "NPS +10 (10 responses: 4 promoters, 3 passives, 3 detractors)",
        "Ratings 0-10: 0:1  1:0  2:0  3:1  4:0  5:0  6:1  7:2  8:1  9:2  10:2",
        "3 with a comment, 3 follow-ups open",
        "Trend by month (UTC):",
        "  Sep 2026  +100  1 response",
        "  Oct 2026   +50  2 responses",
        "  Nov 2026   -14  7 responses",
    ]


def test_report_json_has_the_summary_fields_and_an_iso_utc_trend(run: Run) -> None:
    status, out, _ = run(
        "report", "--json", "--until", "2026-11-09", "--tz", "UTC", "--period", "week"
    )

    report = json.loads(out)
    assert status == 0
    assert (report["responses"], report["promoters"], report["detractors"]) == (10, 4, 3)
    assert report["score"] == pytest.approx(10.0)
    assert report["distribution"] == [1, 0, 0, 1, 0, 0, 1, 2, 1, 2, 2]
    assert (report["with_comment"], report["follow_ups_open"]) == (3, 3)
    assert (report["period"], report["time_zone"], report["since"]) == ("week", "UTC", None)
    assert report["until"] == "2026-11-09T00:00:00Z"
    assert len(report["trend"]) == 12
    last = report["trend"][-1]
    assert (last["label"], last["start"], last["responses"]) == (
        "2026-W45",
        "2026-11-02T00:00:00Z",
        6,
    )


def test_a_date_means_local_midnight_in_the_chosen_time_zone(run: Run) -> None:
    # ju answered at 02:00 UTC on 1 Nov: still 31 Oct in New York, already 1 Nov in UTC.
    _, in_new_york, _ = run(
        "list",
        "--json",
        "--since",
        "2026-11-01",
        "--until",
        "2026-11-02",
        "--tz",
        "America/New_York",
    )
    _, in_utc, _ = run(
        "list", "--json", "--since", "2026-11-01", "--until", "2026-11-02", "--tz", "UTC"
    )

    assert [r["email"] for r in json.loads(in_new_york)] == []
    assert [r["email"] for r in json.loads(in_utc)] == ["ju@example.com"]


def test_list_filters_by_category_and_comment(run: Run) -> None:
    status, out, _ = run("list", "--category", "detractor", "--with-comment")

    lines = out.splitlines()
    assert status == 0
    assert lines[0].split() == [
        "id",
        "answered_at",
        "email",
        "rating",
        "category",
        "follow_up",
        "comment",
    ]
    assert [line.split()[2] for line in lines[1:]] == ["io@example.com", "hu@example.com"]
    assert "Too slow" in lines[2]


def test_list_json_gives_every_field_with_iso_utc_times(run: Run) -> None:
    _, out, _ = run("list", "--json", "--follow-up", "open")

    rows = json.loads(out)
    assert [r["email"] for r in rows] == ["io@example.com", "hu@example.com", "ju@example.com"]
    assert rows[1]["answered_at"] == "2026-11-06T08:00:00Z"
    assert (rows[1]["rating"], rows[1]["category"], rows[1]["comment"]) == (
        6,
        "detractor",
        "Too slow",
    )
    assert (rows[1]["follow_up"], rows[1]["follow_up_note"]) == ("open", "")


def test_list_says_so_when_nothing_matches(run: Run) -> None:
    assert run("list", "--text", "nobody-here")[1] == "No responses match.\n"


def test_follow_up_marks_done_with_a_note_then_clearing_keeps_the_note(run: Run) -> None:
    rows = json.loads(run("list", "--json", "--text", "hu@")[1])
    ident = str(rows[0]["id"])

    assert run("follow-up", ident, "--done", "--note", "Called; sent a voucher")[1] == (
        "Marked 1 response done.\n"
    )
    assert run("follow-up", ident, "--done")[1] == "Marked 0 responses done; 1 already had it.\n"
    assert run("follow-up", ident, "--clear")[1] == "Cleared the follow-up of 1 response.\n"

    (row,) = json.loads(run("list", "--json", "--text", "hu@")[1])
    assert (row["follow_up"], row["follow_up_note"]) == (None, "Called; sent a voucher")
    assert row["follow_up_changed_at"].endswith("Z")


def test_follow_up_of_an_unknown_response_is_refused_with_one_sentence(run: Run) -> None:
    status, out, err = run("follow-up", "1", "4242", "--open")

    assert (status, out) == (1, "")
    assert err == (
        "callexa-desktop: No response with the id 4242 exists; no follow-up was changed.\n"
    )


def test_export_to_a_file_writes_the_filtered_responses_as_csv(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "detractors.csv"

    status, out, _ = run("export", "--category", "detractor", str(target))

    assert (status, out) == (0, f"Exported 3 responses to {target}.\n")
    rows = list(csv.reader(target.open(encoding="utf-8-sig", newline="")))
    assert rows[0][:5] == ["answered_at", "email", "name", "user_id", "rating"]
    assert [(r[1], r[4], r[6]) for r in rows[1:]] == [
        ("io@example.com", "0", "'=HYPERLINK(1)"),
        ("hu@example.com", "6", "Too slow"),
        ("ju@example.com", "3", ""),
    ]
    assert rows[3][0] == "2026-11-01T02:00:00Z"


def test_export_to_stdout_writes_only_the_csv(run: Run) -> None:
    status, out, _ = run("export", "--with-comment", "-")

    rows = list(csv.reader(io.StringIO(out)))
    assert status == 0
    assert len(rows) == 4
    assert [r[1] for r in rows[1:]] == ["io@example.com", "hu@example.com", "ada@example.com"]


def test_export_to_a_missing_folder_fails_with_one_sentence(run: Run, tmp_path: Path) -> None:
    status, _, err = run("export", str(tmp_path / "missing" / "out.csv"))

    assert status == 1
    assert err.startswith("callexa-desktop: The responses could not be saved to ")
    assert err.endswith("nothing was written.\n")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (("list", "--since", "last week"), "'last week' is not a date; write it like 2026-11-01"),
        (("report", "--tz", "Mars/Olympus"), "'Mars/Olympus' is not a time zone"),
        (("report", "--periods", "0"), "--periods must be a number from 1 to 520, not 0."),
    ],
)
def test_unreadable_dates_and_zones_are_refused_with_one_sentence(
    run: Run, argv: tuple[str, ...], sentence: str
) -> None:
    status, out, err = run(*argv)

    assert (status, out) == (1, "")
    assert err.startswith(f"callexa-desktop: {sentence}")
    assert err.count("\n") == 1
