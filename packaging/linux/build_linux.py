"""Linux: the onedir bundle as a ``.tar.gz`` (with desktop entry, icons and an
installer script) plus an AppDir that ``appimagetool`` turns into an AppImage.

    .venv/bin/python packaging/build.py          # or: make package
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from build_common import DIST, EXE_NAME, ROOT, BuildReport, build_for_platform, run, which
from bundle_layout import APP_NAME, RESOURCES
from icon_files import png_size

HERE = Path(__file__).resolve().parent
BUNDLE = DIST / EXE_NAME
APPDIR = ROOT / "build" / "AppDir"
DESKTOP_ENTRY = RESOURCES / "callexa-desktop.desktop"
ICON_NAME = "callexa-desktop"


def main(argv: Sequence[str] | None = None) -> int:
    return build_for_platform(
        argv,
        description=__doc__.splitlines()[0],
        bundle_path=BUNDLE,
        executable=BUNDLE / EXE_NAME,
        package=package,
    )


def package(report: BuildReport) -> None:
    """The tarball and the AppDir (and the AppImage when appimagetool is installed)."""
    stem = f"{EXE_NAME}-{report.version}-linux-{platform.machine()}"
    tarball = make_tarball(stem)
    report.add_artefact(tarball)
    make_appdir()
    tool = which("appimagetool")
    image = DIST / f"{APP_NAME.replace(' ', '_')}-{report.version}-{platform.machine()}.AppImage"
    if tool:
        run([tool, APPDIR, image], env={**os.environ, "ARCH": platform.machine()})
        report.add_artefact(image)
    else:
        report.notes.append(
            f"appimagetool is not installed: the AppDir is ready in {APPDIR.relative_to(ROOT)}; "
            f"run `ARCH={platform.machine()} appimagetool {APPDIR.relative_to(ROOT)} "
            f"{image.relative_to(ROOT)}` to make the AppImage"
        )


def make_tarball(stem: str) -> Path:
    """``dist/<stem>.tar.gz``: the bundle, ``share/`` (desktop entry, icons) and install.sh."""
    tarball = DIST / f"{stem}.tar.gz"
    with tarfile.open(tarball, "w:gz", compresslevel=6) as archive:
        # Symlinks inside the bundle (Qt's libraries) are stored as symlinks.
        archive.add(BUNDLE, arcname=stem)
        archive.add(HERE / "install.sh", arcname=f"{stem}/install.sh")
        for source, target in share_files():
            archive.add(source, arcname=f"{stem}/share/{target}")
    return tarball


def share_files() -> list[tuple[Path, str]]:
    """(file, path under share/) for the desktop entry and the hicolor icon theme."""
    files = [(DESKTOP_ENTRY, f"applications/{DESKTOP_ENTRY.name}")]
    for png in sorted((RESOURCES / "icons").glob("*.png"), key=lambda p: png_size(p.read_bytes())):
        width, height = png_size(png.read_bytes())
        files.append((png, f"icons/hicolor/{width}x{height}/apps/{ICON_NAME}.png"))
    files.append((RESOURCES / f"{ICON_NAME}.svg", f"icons/hicolor/scalable/apps/{ICON_NAME}.svg"))
    return files


def make_appdir() -> None:
    """``build/AppDir``: AppRun, desktop entry and icon at the top, the bundle under usr/lib."""
    if APPDIR.exists():
        shutil.rmtree(APPDIR)
    target = APPDIR / "usr" / "lib" / EXE_NAME
    try:
        # Hard links: no second copy of ~150 MB when the build folder is on the same disk.
        shutil.copytree(BUNDLE, target, symlinks=True, copy_function=os.link)
    except OSError:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(BUNDLE, target, symlinks=True)
    for source, relative in share_files():
        destination = APPDIR / "usr" / "share" / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
    shutil.copy2(DESKTOP_ENTRY, APPDIR / DESKTOP_ENTRY.name)
    shutil.copy2(RESOURCES / "icons" / "callexa-desktop-256.png", APPDIR / f"{ICON_NAME}.png")
    (APPDIR / ".DirIcon").symlink_to(f"{ICON_NAME}.png")
    app_run = APPDIR / "AppRun"
    shutil.copy2(HERE / "AppRun", app_run)
    app_run.chmod(0o755)


if __name__ == "__main__":
    sys.exit(main())
