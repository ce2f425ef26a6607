"""macOS: ``Callexa Desktop.app`` (the spec's BUNDLE), signed and notarised when
credentials are configured, in a ``.dmg`` with an Applications link.

    .venv/bin/python packaging/build.py

Signing: ``CODESIGN_IDENTITY="Developer ID Application: … (TEAMID)"`` (the
certificate in the login keychain); PyInstaller signs every binary with the
hardened runtime and ``entitlements.plist``. Notarisation: ``NOTARY_PROFILE``
names credentials stored once with ``xcrun notarytool store-credentials``.
Without them the app is ad-hoc signed and Gatekeeper asks on first open.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from build_common import DIST, EXE_NAME, ROOT, BuildReport, build_for_platform, run, which
from bundle_layout import APP_NAME

APP = DIST / f"{APP_NAME}.app"
STAGING = ROOT / "build" / "dmg"


def main(argv: Sequence[str] | None = None) -> int:
    return build_for_platform(
        argv,
        description=__doc__.splitlines()[0],
        bundle_path=APP,
        executable=APP / "Contents" / "MacOS" / EXE_NAME,
        package=package,
    )


def package(report: BuildReport) -> None:
    """Check the signature, notarise the app, make and (when signing) notarise the DMG."""
    identity = os.environ.get("CODESIGN_IDENTITY")
    profile = os.environ.get("NOTARY_PROFILE")
    run(["codesign", "--verify", "--deep", "--strict", "--verbose=2", APP])
    if identity and profile:
        notarise(APP, profile)
    elif identity:
        report.notes.append("signed but not notarised: set NOTARY_PROFILE to notarise")
    else:
        report.notes.append("ad-hoc signed: set CODESIGN_IDENTITY and NOTARY_PROFILE to ship")
    dmg = DIST / f"callexa-desktop-{report.version}-macos-{os.uname().machine}.dmg"
    make_dmg(dmg, report.version)
    if identity:
        run(["codesign", "--sign", identity, "--timestamp", dmg])
        if profile:
            notarise(dmg, profile)
    report.add_artefact(dmg)


def notarise(path: Path, profile: str) -> None:
    """Submit to Apple's notary service, wait, and staple the ticket to ``path``."""
    upload = path
    if path.suffix == ".app":
        upload = path.with_suffix(".zip")
        run(["ditto", "-c", "-k", "--keepParent", path, upload])
    run(["xcrun", "notarytool", "submit", upload, "--keychain-profile", profile, "--wait"])
    run(["xcrun", "stapler", "staple", path])
    if upload != path:
        upload.unlink()


def make_dmg(dmg: Path, version: str) -> None:
    """A compressed disk image holding the app and a link to /Applications."""
    dmg.unlink(missing_ok=True)
    volume = f"{APP_NAME} {version}"
    tool = which("create-dmg")
    if tool:
        layout = ["--window-size", "540", "360", "--icon", APP.name, "140", "170"]
        layout += ["--app-drop-link", "400", "170", "--hide-extension", APP.name]
        run([tool, "--volname", volume, *layout, dmg, APP])
        return
    if STAGING.exists():
        shutil.rmtree(STAGING)
    STAGING.mkdir(parents=True)
    run(["ditto", APP, STAGING / APP.name])
    (STAGING / "Applications").symlink_to("/Applications")
    run(
        [
            "hdiutil",
            "create",
            "-volname",
            volume,
            "-srcfolder",
            STAGING,
            "-ov",
            "-format",
            "UDZO",
            dmg,
        ]
    )
    shutil.rmtree(STAGING)


if __name__ == "__main__":
    sys.exit(main())
