"""The bundle self-check, run from the source checkout (the smoke test runs it frozen)."""

from __future__ import annotations

import pytest

from tests.packaging.conftest import load_packaging_module

bundle_check = load_packaging_module("bundle_check")


def test_every_bundle_check_passes_in_a_source_checkout(qapp: object) -> None:
    report = bundle_check.run_checks()

    failed = {c["name"]: c["detail"] for c in report["checks"] if not c["ok"]}
    assert failed == {}
    assert report["frozen"] is False
    names = [check["name"] for check in report["checks"]]
    assert names == ["migrations", "resources", "keyring", "email_validator", "qt", "exclusions"]


def test_a_failing_check_is_reported_and_the_others_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken() -> dict[str, object]:
        raise AssertionError("the migration scripts are not there")

    monkeypatch.setattr(
        bundle_check,
        "CHECKS",
        [("migrations", broken), ("resources", bundle_check.check_resources)],
    )

    report = bundle_check.run_checks()

    assert report["ok"] is False
    assert report["checks"][0] == {
        "name": "migrations",
        "ok": False,
        "detail": "AssertionError: the migration scripts are not there",
    }
    assert report["checks"][1]["ok"] is True


def test_migration_check_reports_the_head_revision_a_new_database_reached() -> None:
    detail = bundle_check.check_migrations()

    from callexa_desktop.core.database import head_revision

    assert detail["head"] == head_revision()
    assert "0001_initial_schema.py" in detail["scripts"]
