#!/usr/bin/env bash
# Rootful Podman on a Debian bookworm machine, for the container packaging (Containerfile,
# compose.yaml, scripts/test-packaging.sh). Idempotent: each step is skipped when it is done.
#
#   1. Debian's podman, runc, podman-compose and debootstrap (apt-get).
#   2. /etc/containers/containers.conf: runtime runc (crun 1.8 refuses this machine's cgroup
#      hierarchy: "crun: cgroups in hybrid mode not supported, drop all controllers from
#      cgroupv2") and default ulimits within the hard limits of this shell (without them runc
#      fails every container: "error setting rlimit type 7: operation not permitted").
#   3. Base images localhost/debian:bookworm (debootstrap --variant=minbase) and
#      localhost/debian:bookworm-slim (the same, slimmed as the official slim image is), since
#      no image registry is reachable here: `FROM debian:bookworm` finds them locally (short
#      names are resolved against localhost/ first). Where docker.io is reachable none of this
#      is needed: the official debian images are the same thing.
#
# Run as root. FORCE_BASE=1 rebuilds the base images; FORCE_CONF=1 rewrites containers.conf.
set -euo pipefail

say() { printf 'podman-setup: %s\n' "$*" >&2; }
die() {
    say "ERROR: $*"
    exit 1
}

[ "$(id -u)" = 0 ] || die "run as root (rootful Podman)"
grep -q 'bookworm' /etc/os-release 2>/dev/null || say "warning: not Debian bookworm; continuing"

SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
BASE=localhost/debian:$SUITE
SLIM=localhost/debian:$SUITE-slim
CONF=/etc/containers/containers.conf

# 1. Packages.
need=()
for p in podman runc podman-compose debootstrap uidmap netavark aardvark-dns; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
else
    say "packages: already installed"
fi

# 2. containers.conf. nofile: the hard limit of this shell (what a container may be given);
# nproc: the same, capped at 32768.
marker='# written by scripts/podman-setup.sh'
if [ -f "$CONF" ] && ! grep -qF "$marker" "$CONF" && [ "${FORCE_CONF:-}" != 1 ]; then
    say "$CONF exists and was not written by this script: left alone (FORCE_CONF=1 replaces it)"
elif [ -f "$CONF" ] && [ "${FORCE_CONF:-}" != 1 ]; then
    say "containers.conf: already written"
else
    nofile=$(ulimit -Hn)
    nproc=$(ulimit -Hu)
    [ "$nofile" = unlimited ] && nofile=1048576
    if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
    mkdir -p /etc/containers
    if [ -f "$CONF" ]; then cp -p "$CONF" "$CONF.bak.$(date +%s)"; fi
    {
        echo "$marker"
        echo "# runc: crun (1.8, bookworm) refuses this machine's cgroup hierarchy."
        echo "# default_ulimits: within the hard limits (ulimit -Hn: $(ulimit -Hn), ulimit -Hu: $(ulimit -Hu))."
        echo "[containers]"
        echo "default_ulimits = ["
        echo "  \"nofile=$nofile:$nofile\","
        echo "  \"nproc=$nproc:$nproc\","
        echo "]"
        echo
        echo "[engine]"
        echo "runtime = \"runc\""
    } >"$CONF"
    say "wrote $CONF (nofile=$nofile, nproc=$nproc, runtime=runc)"
fi
podman info >/dev/null 2>&1 || die "podman info fails: $(podman info 2>&1 | tail -3)"

# 3. The base images.
rebuilt=
if podman image exists "$BASE" && [ "${FORCE_BASE:-}" != 1 ]; then
    say "base image $BASE: already there"
else
    root=$(mktemp -d /var/tmp/debootstrap.XXXXXX)
    [ -d "${root:?mktemp failed}" ] || die "mktemp failed"
    trap 'rm -rf --one-file-system "${root:?}" "${root:?}.log"' EXIT
    say "debootstrap --variant=minbase $SUITE (a minute or so)"
    debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1 \
        || { tail -20 "$root.log" >&2; die "debootstrap failed"; }
    printf 'deb %s %s main\n' "$MIRROR" "$SUITE" "$MIRROR" "$SUITE-updates" \
        "$SECURITY_MIRROR" "$SUITE-security" >"${root:?}/etc/apt/sources.list"
    # As the official image: no apt caches or lists in the image, no machine id of its own,
    # not this machine's resolver (debootstrap copied it; the engine provides one).
    rm -rf "${root:?}"/var/lib/apt/lists/* "${root:?}"/var/cache/apt/*.bin "${root:?}"/var/cache/apt/archives/*.deb
    rm -f "${root:?}/etc/resolv.conf"
    : >"${root:?}/etc/machine-id"
    echo debian >"${root:?}/etc/hostname"
    tar --numeric-owner -C "${root:?}" -c . \
        | podman import -q --change 'CMD ["bash"]' - "$BASE" >/dev/null
    rebuilt=1
    say "imported $BASE ($(podman image inspect -f '{{.Size}}' "$BASE") bytes)"
fi

# The slim image: debuerreotype's slimify (no documentation but the copyright files, no
# manuals, no translations; dpkg told to install none of them either), flattened into one layer.
slim_label='{{index .Config.Labels "io.libris.podman-setup"}}'
if [ -z "$rebuilt" ] && [ "$(podman image inspect -f "$slim_label" "$SLIM" 2>/dev/null)" = slim ]; then
    say "base image $SLIM: already there"
else
    tmp=libris-podman-setup-slimify
    podman rm -f "$tmp" >/dev/null 2>&1 || true
    # shellcheck disable=SC2016 # expanded by the container's shell
    podman run --name "$tmp" --network none "$BASE" sh -euc '
        for p in doc/* groff/* info/* linda/* lintian/overrides/* locale/* man/*; do
            echo "path-exclude /usr/share/$p"
        done > /etc/dpkg/dpkg.cfg.d/docker
        echo "path-include /usr/share/doc/*/copyright" >> /etc/dpkg/dpkg.cfg.d/docker
        for d in doc groff info linda lintian/overrides locale man; do
            [ -d "/usr/share/$d" ] || continue
            find "/usr/share/$d" -mindepth 1 ! -type d ! -path "/usr/share/doc/*/copyright" -delete
            find "/usr/share/$d" -mindepth 1 -type d -empty -delete
        done' || die "slimming $BASE failed"
    podman export "$tmp" \
        | podman import -q --change 'CMD ["bash"]' --change 'LABEL io.libris.podman-setup=slim' - "$SLIM" >/dev/null
    podman rm "$tmp" >/dev/null
    say "made $SLIM ($(podman image inspect -f '{{.Size}}' "$SLIM") bytes)"
fi

# Short-name resolution: `FROM debian:bookworm` must find the local images, not try docker.io.
for tag in "$SUITE" "$SUITE-slim"; do
    got=$(podman image inspect -f '{{.Id}}' "debian:$tag" 2>/dev/null) \
        || die "podman does not resolve debian:$tag to localhost/debian:$tag"
    [ "$got" = "$(podman image inspect -f '{{.Id}}' "localhost/debian:$tag")" ] \
        || die "debian:$tag resolves to another image than localhost/debian:$tag"
done
say "ok: debian:$SUITE and debian:$SUITE-slim resolve to the local images"
