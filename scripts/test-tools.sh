#!/usr/bin/env bash
# What the tests run besides cargo. Installs what is missing when it can (root with apt-get;
# PyPI and npm for the packages), otherwise says what to install.
#
# - The OPDS validation tests (fixtures/opds-validate): xmllint, and a python with the JSON
#   Schema and lint packages in a virtual environment under target/opds-venv.
# - The browser tests (tests/browser, docs/testing.md): Debian's chromium, chromium-driver and
#   fonts-liberation (without their recommends), and axe-core (pinned) installed with npm into
#   target/web-tools.
#
# `test-tools.sh` sets up both and prints the python to use (the only line on stdout: the
# Makefile captures it). `test-tools.sh browser` sets up the browser tools alone, printing
# nothing on stdout; `test-tools.sh reliability` installs nginx for `make reliability`.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "test-tools.sh: $*" >&2; }

# The one axe-core the accessibility checks run: a new version may find new violations, so it
# changes only in a commit of its own.
AXE_VERSION=4.14.1
web_tools=target/web-tools

apt_install() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing $*"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq --no-install-recommends "$@" >&2
    else
        say "missing $*: install them, e.g. 'sudo apt-get install $*'"
        exit 1
    fi
}

mode=${1:-all}
case "$mode" in
    all | browser) ;;
    # `make reliability`'s two instances run behind Debian's nginx.
    reliability)
        [ -x /usr/sbin/nginx ] || apt_install nginx
        exit 0 ;;
    *) say "usage: test-tools.sh [browser|reliability]"; exit 2 ;;
esac

# Debian's packages first, in one apt-get run.
missing=()
if [ "$mode" = all ]; then
    command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
    # packaging/libris.service is checked with systemd-analyze (tests/packaging.rs).
    command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
fi
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
# Screenshots render text in the same fonts on every machine.
[ -d /usr/share/fonts/truetype/liberation ] || missing+=(fonts-liberation)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

# axe-core, the exact version, into target/web-tools (not the repository).
installed=$(node -p "require('./$web_tools/node_modules/axe-core/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$AXE_VERSION" ] || [ ! -s "$web_tools/node_modules/axe-core/axe.min.js" ]; then
    say "installing axe-core@$AXE_VERSION into $web_tools"
    mkdir -p "$web_tools"
    npm install --prefix "$web_tools" --no-save --no-package-lock --no-audit --no-fund \
        --loglevel=error "axe-core@$AXE_VERSION" >&2
    [ -s "$web_tools/node_modules/axe-core/axe.min.js" ] || { say "npm installed no axe.min.js"; exit 1; }
fi

[ "$mode" = browser ] && exit 0

venv=target/opds-venv
packages=(lxml 'jsonschema>=4.18' rfc3987 uri-template)
check='import lxml, jsonschema, referencing, rfc3987, uri_template'
if ! "$venv/bin/python" -c "$check" >/dev/null 2>&1; then
    rm -rf "$venv"
    python3 -m venv "$venv" >/dev/null 2>&1 || { apt_install python3-venv; python3 -m venv "$venv"; }
    say "installing ${packages[*]} into $venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "${packages[@]}" >&2
fi
echo "$PWD/$venv/bin/python"
