"""Windows: the onedir bundle (windowed ``callexa-desktop.exe`` plus console
``callexa-desktop-cli.exe``) wrapped by Inno Setup into a per-user installer.

    .venv\\Scripts\\python packaging\\build.py

Needs Inno Setup 6 (``iscc`` on PATH or in its default folder). Signing: set
``SIGNTOOL_CERT_SHA1`` to the thumbprint of a code-signing certificate in the
certificate store and both executables and the installer are signed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from build_common import DIST, EXE_NAME, ROOT, BuildReport, build_for_platform, run, which
from bundle_layout import CLI_EXE_NAME

HERE = Path(__file__).resolve().parent
BUNDLE = DIST / EXE_NAME
ISCC_FALLBACKS = (
    r"C:\Program Files (x86)\Inno Setup 6\ISCC.exe",
    r"C:\Program Files\Inno Setup 6\ISCC.exe",
)
TIMESTAMP_URL = "http://timestamp.digicert.com"


def main(argv: Sequence[str] | None = None) -> int:
    # The console executable runs the smoke test: the windowed one has no stdout.
    return build_for_platform(
        argv,
        description=__doc__.splitlines()[0],
        bundle_path=BUNDLE,
        executable=BUNDLE / f"{CLI_EXE_NAME}.exe",
        package=package,
    )


def package(report: BuildReport) -> None:
    """Sign the executables (when a certificate is configured) and compile the installer."""
    certificate = os.environ.get("SIGNTOOL_CERT_SHA1")
    if certificate:
        sign([BUNDLE / f"{EXE_NAME}.exe", BUNDLE / f"{CLI_EXE_NAME}.exe"], certificate)
    else:
        report.notes.append(
            "unsigned: set SIGNTOOL_CERT_SHA1 to sign (SmartScreen warns otherwise)"
        )
    iscc = which("iscc", *ISCC_FALLBACKS)
    if iscc is None:
        report.notes.append(
            "Inno Setup is not installed: install it (https://jrsoftware.org/isdl.php) and run "
            "build.py again, or compile packaging/windows/callexa-desktop.iss by hand"
        )
        return
    run(
        [
            iscc,
            f"/DAppVersion={report.version}",
            f"/DBundleDir={BUNDLE}",
            f"/DOutputDir={DIST}",
            f"/DRepoDir={ROOT}",
            HERE / "callexa-desktop.iss",
        ]
    )
    installer = DIST / f"callexa-desktop-{report.version}-windows-x64-setup.exe"
    if certificate:
        sign([installer], certificate)
    report.add_artefact(installer)


def sign(files: list[Path], certificate: str) -> None:
    signtool = which("signtool")
    if signtool is None:
        raise SystemExit("SIGNTOOL_CERT_SHA1 is set but signtool.exe is not on PATH")
    digests = ["/fd", "sha256", "/td", "sha256", "/tr", TIMESTAMP_URL]
    run([signtool, "sign", "/sha1", certificate, *digests, *files])


if __name__ == "__main__":
    sys.exit(main())
