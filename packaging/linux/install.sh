#!/bin/sh
# Install (or with --uninstall, remove) Callexa Desktop for the current user.
#   ./install.sh                 installs into ~/.local (PREFIX=/opt/... for elsewhere)
#   ./install.sh --uninstall     removes the program; the data folder and keys stay
set -eu

PREFIX="${PREFIX:-$HOME/.local}"
HERE="$(cd "$(dirname "$0")" && pwd)"
PROGRAM_DIR="$PREFIX/lib/callexa-desktop"
LAUNCHER="$PREFIX/bin/callexa-desktop"
ENTRY="$PREFIX/share/applications/callexa-desktop.desktop"

refresh_caches() {
    # Menus and icon themes pick the change up sooner; harmless if the tools are absent.
    command -v update-desktop-database >/dev/null 2>&1 \
        && update-desktop-database -q "$PREFIX/share/applications" || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 \
        && gtk-update-icon-cache -q -t "$PREFIX/share/icons/hicolor" || true
}

if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$PROGRAM_DIR"
    rm -f "$LAUNCHER" "$ENTRY"
    find "$PREFIX/share/icons/hicolor" -name 'callexa-desktop.*' -delete 2>/dev/null || true
    refresh_caches
    echo "Callexa Desktop removed. Your data folder and keychain entries were kept."
    exit 0
fi

rm -rf "$PROGRAM_DIR"
mkdir -p "$PROGRAM_DIR" "$PREFIX/bin" "$PREFIX/share"
cp -a "$HERE/callexa-desktop" "$HERE/_internal" "$PROGRAM_DIR/"
ln -sf "$PROGRAM_DIR/callexa-desktop" "$LAUNCHER"
cp -a "$HERE/share/." "$PREFIX/share/"
# The menu may not have ~/.local/bin on its PATH: point the entry at the program itself.
sed -i "s|^Exec=callexa-desktop|Exec=$PROGRAM_DIR/callexa-desktop|; s|^TryExec=.*|TryExec=$PROGRAM_DIR/callexa-desktop|" "$ENTRY"
refresh_caches
echo "Callexa Desktop installed: $LAUNCHER (command line) and the applications menu."
