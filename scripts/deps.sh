#!/usr/bin/env bash
# Checks what building and running libris needs (cargo, libpq for diesel; mutool and ddjvu,
# which render the first page of PDFs and DjVus as their covers) and installs what is missing
# when it can (root with apt-get); otherwise says exactly what to install.
set -euo pipefail

missing=()
command -v cargo >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/cargo" ] || {
    echo "deps.sh: cargo not found: install Rust from https://rustup.rs (or Debian's cargo package)" >&2
    exit 1
}
libdir=$(pg_config --libdir 2>/dev/null || echo /usr/lib/x86_64-linux-gnu)
[ -e "$libdir/libpq.so" ] || ls /usr/lib/*/libpq.so >/dev/null 2>&1 || missing+=(libpq-dev)
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v mutool >/dev/null 2>&1 || missing+=(mupdf-tools)
command -v ddjvu >/dev/null 2>&1 || missing+=(djvulibre-bin)

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "deps.sh: installing ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq "${missing[@]}" >&2
    else
        echo "deps.sh: missing ${missing[*]}: install them, e.g. 'sudo apt-get install ${missing[*]}'" >&2
        exit 1
    fi
fi
