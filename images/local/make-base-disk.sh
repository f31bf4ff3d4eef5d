#!/bin/sh
# Build a stock Debian 13 (trixie) disk from Debian packages: the local stand-in for DigitalOcean's
# `debian-13-x64` image (and Debian's own AMI), for Packer's qemu builder on this machine.
# The machine running it may be older (Debian 12's mmdebstrap, extlinux and e2fsprogs build it).
#
#   images/local/make-base-disk.sh OUTPUT.qcow2
#
# What it holds is what a cloud's stock image holds: kernel (linux-image-cloud-amd64),
# systemd, openssh-server, cloud-init, ifupdown + isc-dhcp-client (cloud-init's network
# renderer on Debian), sudo, unattended-upgrades (which the base turns off); plus,
# because the local bake runs offline (APT_OFFLINE=true), every package
# images/scripts/base.sh needs: python3, python3-psycopg2, python3-alembic,
# python3-cryptography, ca-certificates, nftables, rsyslog, rsyslog-relp, openssl, logrotate,
# e2fsprogs (in every cloud image, no longer in every Debian 13 system);
# and usr-is-merged, which a stock image upgraded from Debian 12 still holds and nothing in
# Debian 13 needs: the base purges it, as it would on such an image.
# No SSH key: Packer's temporary key arrives at boot through a NoCloud seed, as a
# cloud's metadata delivers it, and the bake's cleanup deletes it.
# Booting: an MBR disk with one ext4 partition and extlinux (no GRUB: grub-install
# needs a partition device node that a loop file does not get here).
# Needs root and a loop device (mount -o loop), mmdebstrap, extlinux, qemu-img,
# sfdisk, mkfs.ext4.
set -eu

output=${1:?usage: make-base-disk.sh OUTPUT.qcow2}
suite=${DEBIAN_SUITE:-trixie}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
size_mb=${DISK_SIZE_MB:-2048}

work=$(mktemp -d "${TMPDIR:-/tmp}/base-disk.XXXXXX")
mnt="$work/mnt"
cleanup() {
    if mountpoint -q "$mnt" 2>/dev/null; then umount "$mnt"; fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

packages="linux-image-cloud-amd64,initramfs-tools,systemd-sysv,udev,dbus,openssh-server,cloud-init,ifupdown,isc-dhcp-client,netbase,iproute2,sudo,python3,python3-psycopg2,python3-alembic,python3-cryptography,ca-certificates,nftables,rsyslog,rsyslog-relp,openssl,logrotate,e2fsprogs,usr-is-merged,unattended-upgrades,procps"

echo "make-base-disk: mmdebstrap $suite ($mirror)" >&2
# Debian mirrors here may serve a dated snapshot: do not refuse its Release files for age.
# shellcheck disable=SC2016 # $1 in the hook is expanded by mmdebstrap: the root it built
mmdebstrap --quiet --variant=minbase --include="$packages" \
    --aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Check-Date "false"' \
    --customize-hook='echo "localhost" > "$1/etc/hostname"' \
    "$suite" "$work/rootfs.tar" \
    "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb ${mirror%/debian}/debian-security $suite-security main"

echo "make-base-disk: partition, ext4, extlinux" >&2
raw="$work/disk.raw"
truncate -s "${size_mb}M" "$raw"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk --quiet "$raw"
offset=$((2048 * 512))
part_bytes=$(( (size_mb * 1024 * 1024) - offset ))
mkfs.ext4 -q -L root -E offset="$offset" "$raw" "$((part_bytes / 1024))k"
uuid=$(blkid -p -O "$offset" -s UUID -o value "$raw" 2>/dev/null || true)
[ -n "$uuid" ] || uuid=$(dumpe2fs -h "$raw?offset=$offset" 2>/dev/null | sed -n 's/^Filesystem UUID: *//p')

mkdir -p "$mnt"
mount -o loop,offset="$offset" "$raw" "$mnt"
tar -C "$mnt" -xf "$work/rootfs.tar"
kernel=$(find "$mnt/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sort -V | tail -n 1)
initrd=$(find "$mnt/boot" -maxdepth 1 -name 'initrd.img-*' -printf '%f\n' | sort -V | tail -n 1)
cat > "$mnt/etc/fstab" <<FSTAB
LABEL=root / ext4 defaults,errors=remount-ro 0 1
FSTAB
mkdir -p "$mnt/boot/extlinux"
cat > "$mnt/boot/extlinux/extlinux.conf" <<CONF
DEFAULT debian
TIMEOUT 1
PROMPT 0
LABEL debian
  LINUX /boot/$kernel
  INITRD /boot/$initrd
  APPEND root=LABEL=root ro console=ttyS0 console=tty0
CONF
extlinux --install "$mnt/boot/extlinux" >/dev/null 2>&1
umount "$mnt"
dd if=/usr/lib/EXTLINUX/mbr.bin of="$raw" bs=440 count=1 conv=notrunc status=none

mkdir -p "$(dirname "$output")"
qemu-img convert -c -O qcow2 "$raw" "$output.tmp"
mv "$output.tmp" "$output"
echo "make-base-disk: wrote $output ($(du -h "$output" | cut -f1))" >&2
