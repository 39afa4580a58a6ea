#!/usr/bin/env bash
# Install the Debian packages the tests use (Virtuoso; PostgreSQL 15 for the scale-out test, which
# starts its own throw-away cluster; podman, runc and mmdebstrap for the image test, which builds
# and runs the image with no daemon and no registry), when missing and when we may.
# Elsewhere the tests that need them skip with a one-line reason.
set -euo pipefail
missing=()
[ -x /usr/bin/virtuoso-t ] || missing+=(virtuoso-opensource)
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql)
command -v podman >/dev/null || missing+=(podman runc uidmap conmon catatonit netavark golang-github-containers-common iptables)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "note: ${missing[*]} not installed and not root/apt: those tests will skip" >&2
  exit 0
fi
echo "installing ${missing[*]} (Debian packages)" >&2
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
