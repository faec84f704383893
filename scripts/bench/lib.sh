# Shared by the bench scripts (sourced).

# need COMMAND PACKAGE: installs the Debian package when the command is missing and it can
# (root with apt-get); otherwise says what to install and stops.
need() {
    command -v "$1" >/dev/null 2>&1 && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq && apt-get install -y -qq "$2" >/dev/null
    else
        echo "$(basename "$0"): $1 is missing: 'sudo apt-get install $2'" >&2
        exit 1
    fi
}
