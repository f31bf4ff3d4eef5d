#!/bin/sh
# Record what this image is made of: every installed package with its version (dpkg's own list) and
# the patch level its packages were taken at. Runs as root in both layers, after the last package
# change and before cleanup.sh; idempotent.
#   PATCH_LEVEL  the base layer's patch level (images/base/patch-level); the app layer omits it and
#                keeps the one its base recorded (the app installs no package).
# Writes /usr/share/immutable-web/packages.manifest (one "name<TAB>version<TAB>architecture" line a
# package, sorted) and /usr/share/immutable-web/patch-level, and prints one line Packer's log carries
# to the Pulumi program: "image-manifest: patch-level=<level> sha256=<the manifest's digest> packages=<count>".
#   MANIFEST_DIR  where to write (default /usr/share/immutable-web; the tests write elsewhere)
set -eu
directory=${MANIFEST_DIR:-/usr/share/immutable-web}
install -d -m 0755 "$directory"
if [ -n "${PATCH_LEVEL:-}" ]; then
    printf '%s\n' "$PATCH_LEVEL" > "$directory/patch-level"
fi
if [ ! -s "$directory/patch-level" ]; then
    echo "manifest.sh: no patch level: PATCH_LEVEL is unset and the base recorded none in $directory/patch-level" >&2
    exit 1
fi
level=$(cat "$directory/patch-level")
# Installed packages only (status "install ok installed"): a removed package's leftover configuration is not in the image.
dpkg-query -W -f='${db:Status-Abbrev}\t${binary:Package}\t${Version}\t${Architecture}\n' \
    | awk -F '\t' '$1 ~ /^ii/ { sub(/:.*/, "", $2); print $2 "\t" $3 "\t" $4 }' \
    | LC_ALL=C sort > "$directory/packages.manifest.new"
mv "$directory/packages.manifest.new" "$directory/packages.manifest"
chmod 0644 "$directory/packages.manifest" "$directory/patch-level"
digest=$(sha256sum "$directory/packages.manifest" | cut -d ' ' -f 1)
count=$(wc -l < "$directory/packages.manifest")
echo "image-manifest: patch-level=$level sha256=$digest packages=$count"
