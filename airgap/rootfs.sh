#!/usr/bin/env bash
# Build (once) a Debian bookworm minbase root filesystem tarball with
# debootstrap: the base every air-gapped stand-in image starts from.
# Prints the tarball path. Rebuilt only when missing or when the mirror or
# suite changes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=airgap/env.sh
. "$here/env.sh"
SUITE="${NEOSALE_ROOTFS_SUITE:-bookworm}"
MIRROR="${NEOSALE_APT_MIRROR:-http://deb.debian.org/debian}"
out="$NEOSALE_CACHE/rootfs/$SUITE-minbase.tar"
key="$SUITE $MIRROR minbase ca-certificates busybox"
if [ -f "$out" ] && [ "$(cat "$out.key" 2>/dev/null)" = "$key" ]; then
  echo "$out"; exit 0
fi
command -v debootstrap >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
mkdir -p "$NEOSALE_CACHE/rootfs"
work="$(mktemp -d "$NEOSALE_CACHE/rootfs/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "[rootfs] debootstrap --variant=minbase $SUITE from $MIRROR" >&2
debootstrap --variant=minbase --include=ca-certificates,busybox "$SUITE" "$work/root" "$MIRROR" >"$work/log" 2>&1 \
  || { tail -n 20 "$work/log" >&2; echo "[rootfs] error: debootstrap failed (mirror $MIRROR)" >&2; exit 1; }
# apt caches and logs make the tarball larger and non-reproducible.
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* "$work/root/var/log/"*
tar --numeric-owner --sort=name --mtime='2000-01-01' -C "$work/root" -cf "$out.partial" .
mv "$out.partial" "$out"
echo "$key" > "$out.key"
echo "$out"
