#!/usr/bin/env bash
# What the OPDS validation tests run (fixtures/opds-validate): xmllint, and a python with the
# JSON Schema and lint packages in a virtual environment under target/. Installs what is
# missing when it can (root with apt-get; PyPI for the packages), otherwise says what to
# install. Prints the python to use.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "test-tools.sh: $*" >&2; }

apt_install() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing $*"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq "$@" >&2
    else
        say "missing $*: install them, e.g. 'sudo apt-get install $*'"
        exit 1
    fi
}

command -v xmllint >/dev/null 2>&1 || apt_install libxml2-utils

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
