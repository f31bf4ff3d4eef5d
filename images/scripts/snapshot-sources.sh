#!/bin/sh
# Print apt's sources (deb822) for Debian's archive as it was at a patch level: the release, its
# point-release updates and its security updates, from snapshot.debian.org (or a mirror of it).
#   snapshot-sources.sh PATCH_LEVEL CODENAME [SNAPSHOT_URL]
# base.sh runs the cloud bakes' apt with these sources alone. Check-Valid-Until: a snapshot's Release
# files are old by design; they are still signed by Debian's archive keys, and apt checks that as usual.
set -eu
level=${1:?usage: snapshot-sources.sh PATCH_LEVEL CODENAME [SNAPSHOT_URL]}
codename=${2:?usage: snapshot-sources.sh PATCH_LEVEL CODENAME [SNAPSHOT_URL]}
url=${3:-https://snapshot.debian.org/archive}
case "$level" in
    [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z) ;;
    *) echo "snapshot-sources.sh: the patch level must be a timestamp YYYYMMDDTHHMMSSZ, got '$level'" >&2; exit 2 ;;
esac
cat <<SOURCES
Types: deb
URIs: $url/debian/$level/
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
Check-Valid-Until: no

Types: deb
URIs: $url/debian-security/$level/
Suites: $codename-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
Check-Valid-Until: no
SOURCES
