#!/bin/sh
# AWS bakes only: put RDS's CA bundle in the image, where the app's DATABASE_SSLROOTCERT names it
# (components/common/cloud_init.py), so the fleet connects with sslmode=verify-full. Runs as root.
#
# Downloaded here, at bake time, over TLS from AWS's trust store, and checked: every block must be a
# CA certificate. The image then carries it unchanged: nothing is fetched at boot, and a new bundle is a
# new bake. On DigitalOcean the cluster's CA comes in user-data (the provider's getDatabaseCa), and
# the local qemu bakes have no network: for any builder but amazon-ebs this does nothing.
#   PACKER_BUILDER_TYPE      set by Packer's shell provisioner (amazon-ebs, digitalocean, qemu)
#   DATABASE_CA_BUNDLE_URL   default: RDS's global bundle (every commercial region's CAs)
#   DATABASE_CA_BUNDLE_PATH  default: /etc/webapp/rds-ca-bundle.pem
set -eu
builder=${PACKER_BUILDER_TYPE:-}
url=${DATABASE_CA_BUNDLE_URL:-https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem}
destination=${DATABASE_CA_BUNDLE_PATH:-/etc/webapp/rds-ca-bundle.pem}

if [ "$builder" != "amazon-ebs" ]; then
    echo "database-ca.sh: ${builder:-this} bake needs no RDS bundle (the database CA comes in user-data)"
    exit 0
fi

download=$(mktemp)
trap 'rm -f "$download"' EXIT
# Python's urllib verifies the server's certificate against the system's CAs (ca-certificates).
python3 -I - "$url" "$download" <<'PYTHON'
import re
import ssl
import sys
import urllib.request

url, path = sys.argv[1], sys.argv[2]
with urllib.request.urlopen(url, timeout=60) as response:
    text = response.read(4 * 1024 * 1024).decode("ascii")
blocks = list(dict.fromkeys(re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.S)))
if not blocks:
    sys.exit(f"database-ca.sh: {url} holds no PEM certificate")
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # an empty store: only what the bundle holds
context.load_verify_locations(cadata="\n".join(blocks))  # raises on a malformed certificate
authorities = len(context.get_ca_certs())
if authorities != len(blocks):
    sys.exit(f"database-ca.sh: {url}: {len(blocks) - authorities} of {len(blocks)} certificates are not CAs")
with open(path, "w", encoding="ascii") as handle:
    handle.write("\n".join(blocks) + "\n")
print(f"database-ca.sh: {authorities} CA certificates from {url}")
PYTHON
install -D -m 0644 "$download" "$destination"
echo "database-ca.sh: installed $destination"
