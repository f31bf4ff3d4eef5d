#!/bin/sh
# Last step of every bake: leave nothing of the builder in the image. Runs as root; idempotent.
# After this, the first boot of a server from the image is a first boot: cloud-init runs
# the server's own user-data, and the server gets its own machine id and SSH host keys.
set -eu

apt-get clean
rm -rf /var/lib/apt/lists/*

# The builder's temporary SSH key (Packer's, injected by the cloud or the local seed).
rm -f /root/.ssh/authorized_keys
for home in /home/*; do
    [ -d "$home/.ssh" ] && rm -f "$home/.ssh/authorized_keys"
done

# Identity that must be unique per server.
rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub
truncate -s 0 /etc/machine-id
rm -f /var/lib/dbus/machine-id
# The log shipper's key (images/scripts/base.sh: rsyslog-sender-key.service makes a new one at first boot).
rm -rf /var/lib/rsyslog-sender

# First boot runs user-data again.
cloud-init clean --logs

rm -rf /tmp/* /var/tmp/*
find /var/log -type f -exec truncate -s 0 {} +
# journald keeps writing the files it has open, and made a new one before the image was shut down (8 MB in
# the image): it moves to /run until the next boot's flush, and then its files under /var go.
journalctl --relinquish-var 2>/dev/null || true
rm -rf /var/log/journal/*

# The local qcow2 only (Packer's qemu builder): zero the free space first. A trim frees only whole qcow2 clusters
# (64 KiB), so deleted files' bytes stayed in the free blocks of partly used clusters (10.5 MiB of them in the app
# image) and were compressed into the qcow2; zeros compress to nothing, and whole zero clusters are unmapped
# (detect_zeroes). Not on DigitalOcean or AWS: their snapshots keep used blocks only, and writing a whole volume
# of zeros there is minutes of I/O for nothing. The file fills the disk, then goes.
if [ "${PACKER_BUILDER_TYPE:-}" = "qemu" ]; then
    dd if=/dev/zero of=/var/tmp/zero-fill bs=1M status=none 2>/dev/null || true
    sync
    rm -f /var/tmp/zero-fill
fi
# Give freed blocks back, so the image (snapshot, AMI, qcow2) is as small as its files.
fstrim -av >/dev/null 2>&1 || true
sync
echo "cleanup.sh: done"
