"""A self-check of what a bundle contains, run inside the frozen executable.

``CALLEXA_DESKTOP_BUNDLE_CHECK=1 callexa-desktop`` prints one JSON object:
``{"ok": bool, "frozen": bool, "checks": [{"name", "ok", "detail"}]}`` and
exits 0 only when every check passed. It reads no profile and no secret. The
same checks run from a source checkout, which is how the test exercises them.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Keyring backend that must load on each platform (viability may still depend on a session).
NATIVE_KEYRING = {
    "linux": "keyring.backends.SecretService",
    "win32": "keyring.backends.Windows",
    "darwin": "keyring.backends.macOS",
}

# Left out on purpose (see bundle_layout); finding one means the excludes did not apply.
MUST_BE_ABSENT = ("keyrings.alt", "pytest", "PySide6.QtQml", "PySide6.QtQuick")


def check_migrations() -> dict[str, Any]:
    """The migration scripts lie next to core/database.py and bring a new database to head."""
    from callexa_desktop.core.database import (
        MIGRATIONS_DIR,
        current_revision,
        head_revision,
        open_database,
    )

    scripts = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py"))
    with tempfile.TemporaryDirectory() as folder:
        database = open_database(f"sqlite:///{Path(folder) / 'check.sqlite3'}")
        try:
            revision = current_revision(database.engine)
        finally:
            database.dispose()
    head = head_revision()
    if revision != head:
        raise AssertionError(f"a new database reached {revision}, not {head}")
    return {"folder": str(MIGRATIONS_DIR), "scripts": scripts, "head": head}


def check_resources() -> dict[str, Any]:
    """The icon, its PNGs and the desktop entry are found where resource_path looks."""
    from callexa_desktop.resources import (
        APP_ICON_SVG,
        DESKTOP_ENTRY,
        app_icon_paths,
        resource_path,
        resources_dir,
    )

    resource_path(APP_ICON_SVG)
    resource_path(DESKTOP_ENTRY)
    return {"folder": str(resources_dir()), "icons": len(app_icon_paths())}


def check_keyring() -> dict[str, Any]:
    """Keyring finds its backends through entry points, and the platform's own backend loads."""
    import keyring.backend

    advertised = sorted(
        entry.name for entry in importlib.metadata.entry_points(group="keyring.backends")
    )
    if not advertised:
        raise AssertionError("no keyring backend entry points: keyring's metadata is missing")
    native = NATIVE_KEYRING.get(sys.platform)
    status = "no native backend expected on this platform"
    if native is not None:
        backend = importlib.import_module(native).Keyring
        try:
            status = f"usable here (priority {backend.priority})"
        except Exception as error:  # not viable in this session: say why (no daemon, no D-Bus)
            status = f"loads, not usable in this session: {error}"
    viable = sorted(type(backend).__module__ for backend in keyring.backend.get_all_keyring())
    return {
        "entry_points": advertised,
        "native": native,
        "native_status": status,
        "viable_here": viable,
    }


def check_email_validation() -> dict[str, Any]:
    """email_validator checks syntax offline and normalises the domain."""
    from email_validator import validate_email

    result = validate_email("Someone@Example.COM", check_deliverability=False)
    if result.normalized != "Someone@example.com":
        raise AssertionError(f"normalised to {result.normalized!r}")
    return {"normalized": result.normalized}


def check_qt() -> dict[str, Any]:
    """Qt starts, its SVG support renders the icon, and the modules the app uses import."""
    from PySide6.QtCore import qVersion
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    importlib.import_module("PySide6.QtWidgets")
    importlib.import_module("PySide6.QtNetwork")
    from callexa_desktop.resources import APP_ICON_SVG, resource_path

    # Kept in a name until the end: the application must outlive the painter.
    app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(resource_path(APP_ICON_SVG)))
    if not renderer.isValid():
        raise AssertionError("QtSvg could not read the icon")
    image = QImage(32, 32, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    if image.pixelColor(16, 16).alpha() == 0:
        raise AssertionError("the rendered icon is empty")
    del app
    return {"platform": QGuiApplication.platformName(), "qt": qVersion()}


def check_exclusions() -> dict[str, Any]:
    """Development tools and unused Qt modules stayed out of the bundle."""
    present = [name for name in MUST_BE_ABSENT if _findable(name)]
    if present and getattr(sys, "frozen", False):
        raise AssertionError(f"should not be bundled: {', '.join(present)}")
    return {"present": present}


CHECKS: list[tuple[str, Callable[[], dict[str, Any]]]] = [
    ("migrations", check_migrations),
    ("resources", check_resources),
    ("keyring", check_keyring),
    ("email_validator", check_email_validation),
    ("qt", check_qt),
    ("exclusions", check_exclusions),
]


def run_checks() -> dict[str, Any]:
    """Every check's outcome; a failing check records its error instead of stopping the rest."""
    results = []
    for name, check in CHECKS:
        try:
            results.append({"name": name, "ok": True, "detail": check()})
        except Exception as error:  # a report, not a crash: the smoke test shows each failure
            results.append(
                {"name": name, "ok": False, "detail": f"{type(error).__name__}: {error}"}
            )
    return {
        "ok": all(result["ok"] for result in results),
        "frozen": bool(getattr(sys, "frozen", False)),
        "checks": results,
    }


def main() -> int:
    report = run_checks()
    print(json.dumps(report, indent=2, default=str))
    return 0 if report["ok"] else 1


def _findable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


if __name__ == "__main__":
    sys.exit(main())
