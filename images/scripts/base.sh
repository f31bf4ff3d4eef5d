#!/bin/sh
# Harden a stock Debian 13 (trixie) into the base image. Runs as root, once per bake; idempotent.
#
# What the base is: the few packages the app needs, security updates applied now (at
# bake time), SSH key-only, no password that works, and nothing that changes the
# server after it boots (no apt timers, no unattended upgrades at run time: a fix is
# a new image). Trimmed so it boots fast.
#
# APT_OFFLINE=true (the local qemu bake, which has no network) installs nothing: the
# stock disk must already carry the packages, and the script fails if it does not.
# PATCH_LEVEL (images/base/patch-level, a snapshot.debian.org timestamp): the updates and packages come
# from Debian's archive as it was at that moment, so two bakes at one level install the same versions.
# APT_SNAPSHOT_URL is the snapshot archive (snapshot.debian.org's by default; a mirror of it works).
set -eu
export DEBIAN_FRONTEND=noninteractive
APT_OFFLINE=${APT_OFFLINE:-false}
: "${PATCH_LEVEL:?PATCH_LEVEL: the patch level of images/base/patch-level}"
APT_SNAPSHOT_URL=${APT_SNAPSHOT_URL:-https://snapshot.debian.org/archive}
# The file provisioner uploads snapshot-sources.sh here before this script runs (images/base/base.pkr.hcl).
SNAPSHOT_SOURCES_SCRIPT=${SNAPSHOT_SOURCES_SCRIPT:-/tmp/snapshot-sources.sh}
# What the app needs, and nothing else (cloud-init and openssh-server come with every stock image):
# the database driver, the schema migrations tool (python3-alembic pulls in SQLAlchemy and Mako),
# the session cookie's cipher (python3-cryptography); nftables keeps the metadata endpoint to root (below);
# rsyslog and its RELP module (rsyslog-relp: RELP over TLS through librelp and OpenSSL) ship the journal
# off the server when user-data names a destination (components/common/cloud_init.py writes the
# forwarding rule; without one, logs stay local); openssl makes the server's own key for it (below);
# logrotate keeps the local copies rsyslog writes under /var/log bounded. e2fsprogs: cloud-init's resizefs grows /
# with its resize2fs on a larger disk (Debian 13 no longer installs e2fsprogs everywhere; without it the module fails).
# (Debian 13 has finished the merged /usr: no package needs usrmerge or its usr-is-merged stand-in any more.)
PACKAGES="python3 python3-psycopg2 python3-alembic python3-cryptography ca-certificates nftables rsyslog rsyslog-relp openssl logrotate e2fsprogs"
# Kernel modules no DigitalOcean droplet or EC2 instance loads (paths under /usr/lib/modules/<version>/kernel; a
# .ko entry also matches its compressed file, which is how Debian 13's kernels ship them: .ko.xz):
# file systems the servers never mount (network, cluster, other disk formats; ext4 root, the seeds' ISO 9660
# and vfat stay), RAID/LVM (device mapper), InfiniBand/RDMA and storage targets, lab data acquisition (comedi),
# other hypervisors' and clouds' drivers (Hyper-V, VMware, Google, Mellanox), a hypervisor's host side (KVM,
# vhost, vfio, xen-netback) and network protocols the app does not speak. Kept: virtio, NVMe, ENA, Intel
# VF, Xen front ends, SCSI disks and CD-ROMs, nf_tables and its reject modules, and everything else.
SLIM_KERNEL_PATHS="fs/btrfs fs/xfs fs/nfs fs/nfsd fs/nfs_common fs/lockd fs/smb fs/ceph fs/orangefs fs/udf fs/erofs fs/exfat fs/zonefs fs/romfs fs/sysv fs/cachefiles fs/fscache fs/netfs fs/squashfs fs/overlayfs
drivers/infiniband drivers/nvme/host/nvme-rdma.ko drivers/nvme/target drivers/target drivers/xen/xen-scsiback.ko drivers/block/rbd.ko drivers/md drivers/comedi
drivers/nvdimm drivers/acpi/nfit drivers/dax/dax_pmem.ko drivers/cxl/cxl_pmem.ko
drivers/scsi/libsas drivers/scsi/mpi3mr drivers/scsi/BusLogic.ko drivers/scsi/ipr.ko drivers/scsi/scsi_debug.ko drivers/scsi/vmw_pvscsi.ko drivers/net/vmxnet3
drivers/hv drivers/scsi/hv_storvsc.ko drivers/net/hyperv drivers/pci/controller/pci-hyperv.ko drivers/input/serio/hyperv-keyboard.ko drivers/video/fbdev/hyperv_fb.ko drivers/uio/uio_hv_generic.ko drivers/hid/hid-hyperv.ko net/vmw_vsock/hv_sock.ko
drivers/net/ethernet/mellanox drivers/net/ethernet/microsoft drivers/net/ethernet/google drivers/net/wwan drivers/net/mhi_net.ko
arch/x86/kvm drivers/vfio drivers/vhost drivers/net/xen-netback
net/sunrpc net/ceph net/sctp net/tipc net/smc net/rds net/openvswitch net/dccp net/l2tp net/bridge net/netfilter/ipvs net/netfilter/xt_ipvs.ko net/netfilter/ipset net/netfilter/xt_set.ko net/sched/em_ipset.ko"

# On a cloud, cloud-init may still be configuring the builder when Packer connects.
if command -v cloud-init >/dev/null 2>&1; then
    timeout 600 cloud-init status --wait >/dev/null || true
fi

# Slim: a server nobody logs in to reads no manual page, no package documentation and no message
# translation. dpkg leaves them out of every package unpacked from here on (this bake's upgrade and
# installs included); what the stock image already holds is deleted below. Licences stay.
install -d -m 0755 /etc/dpkg/dpkg.cfg.d
cat > /etc/dpkg/dpkg.cfg.d/01-immutable-slim <<'CONF'
# Written by the base image (images/scripts/base.sh): no manuals, docs or translations on a server.
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
path-exclude=/usr/share/lintian/*
CONF
# The same modules stay out of every kernel dpkg unpacks later (this bake's upgrade may bring one): a package
# lists them under /lib/modules, the merged /usr under /usr/lib/modules; dpkg's * matches a / too.
for path in $SLIM_KERNEL_PATHS; do
    case "$path" in
        *.ko) echo "path-exclude=/*lib/modules/*/kernel/$path*" ;;
        *) echo "path-exclude=/*lib/modules/*/kernel/$path/*" ;;
    esac
done >> /etc/dpkg/dpkg.cfg.d/01-immutable-slim

missing=""
for package in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing="$missing $package"
done
if [ "$APT_OFFLINE" = "true" ]; then
    if [ -n "$missing" ]; then
        echo "base.sh: offline bake, but the source image lacks:$missing" >&2
        exit 1
    fi
else
    # The archive as it was at the patch level (snapshot-sources.sh): only this bake's apt runs read that
    # list; the image keeps Debian's own sources (and never runs apt).
    # shellcheck source=/dev/null # the builder's own os-release
    . /etc/os-release
    snapshot_parts=$(mktemp -d)
    sh "$SNAPSHOT_SOURCES_SCRIPT" "$PATCH_LEVEL" "$VERSION_CODENAME" "$APT_SNAPSHOT_URL" > "$snapshot_parts/snapshot.sources"
    snapshot_apt() {
        apt-get -q -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$snapshot_parts" -o Acquire::Retries=5 "$@"
    }
    snapshot_apt update
    # Security and point-release updates as of the patch level, applied once, here.
    snapshot_apt -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold upgrade
    # shellcheck disable=SC2086 # the package list is meant to split
    snapshot_apt -y install --no-install-recommends $PACKAGES
    rm -rf "$snapshot_parts"
fi

# What the stock image already holds of the slimmed paths (above). /usr/share/locale holds message
# translations only; the C.UTF-8 locale the services run in is libc's own (/usr/lib/locale).
find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
find /usr/share/doc -mindepth 1 -type d -empty -delete
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/lintian/*
find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +

# The locales' sources (/usr/share/i18n: what locale-gen compiles from). The services run in C.UTF-8,
# libc's own; a locale the stock image compiled stays compiled (/usr/lib/locale). Not kept out of later
# packages: the upgrade above may run locale-gen, which needs them; nothing does after it.
rm -rf /usr/share/i18n/charmaps /usr/share/i18n/locales

# Perl: a stock image upgraded from Debian 12 may still hold usrmerge (the script that merged /usr, long done)
# and the Perl only it needs; the base's packages need neither, and nothing in Debian 13 depends on usrmerge
# any more. debconf and adduser run on perl-base, which stays (Essential). unattended-upgrades goes too: the
# server never updates itself (its units are masked below). dpkg refuses to purge what another package
# still needs, and so stops the bake, rather than leave a dependency unmet.
purge=""
for package in unattended-upgrades usrmerge usr-is-merged libfile-find-rule-perl libnumber-compare-perl libtext-glob-perl perl perl-modules-5.40 libperl5.40; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" && purge="$purge $package"
done
if [ -n "$purge" ]; then
    # shellcheck disable=SC2086 # the package list is meant to split
    dpkg --purge $purge
fi
rm -rf /var/log/unattended-upgrades

# The kernel modules listed in SLIM_KERNEL_PATHS, out of every installed kernel; then its module index and
# initramfs (MODULES=most: what is left of the block, network and file system drivers) without them.
for modules in /usr/lib/modules/*; do
    [ -d "$modules/kernel" ] || continue
    for path in $SLIM_KERNEL_PATHS; do
        case "$path" in
            *.ko) rm -f "${modules:?}/kernel/$path" "${modules:?}/kernel/$path".* ;;
            *) rm -rf "${modules:?}/kernel/$path" ;;
        esac
    done
    depmod -a "$(basename "$modules")"
done
# udev's hardware database stays out of the initramfs (Debian 13's udev hook copies it in: 13.5 MB, most of a
# 12 MB initrd, decompressed at every boot). In the initramfs udev only loads drivers (by modalias, from
# modules.alias) and finds / by its label; the database's vendor names and input mappings are for the booted
# system, whose /usr/lib/udev/hwdb.bin stays.
install -d -m 0755 /etc/initramfs-tools/hooks
cat > /etc/initramfs-tools/hooks/zz-immutable-no-hwdb <<'HOOK'
#!/bin/sh
# Written by the base image (images/scripts/base.sh): no udev hardware database in the initramfs.
set -e
case "${1:-}" in
    prereqs) echo udev; exit 0 ;;
esac
rm -f "${DESTDIR:?}/usr/lib/udev/hwdb.bin" "${DESTDIR:?}/etc/udev/hwdb.bin"
HOOK
chmod 0755 /etc/initramfs-tools/hooks/zz-immutable-no-hwdb
update-initramfs -u -k all

# SSH: keys only, no root password, few tries. The fleet firewall keeps port 22 closed anyway.
# sshd keeps the first value it reads and reads sshd_config.d/*.conf in name order, so
# 01- wins over anything cloud-init writes later (its 50-cloud-init.conf).
install -d -m 0755 /etc/ssh/sshd_config.d
cat > /etc/ssh/sshd_config.d/01-immutable.conf <<'CONF'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
PermitRootLogin prohibit-password
MaxAuthTries 3
X11Forwarding no
AllowAgentForwarding no
CONF
# No account has a usable password.
passwd -l root >/dev/null
# Host keys are cloud-init's to make (its ssh module, ssh_genkeytypes below: no RSA key). Debian 13's
# sshd-keygen.service runs `ssh-keygen -A` on a first boot, after cloud-init, and would add the 3072-bit RSA key
# (3.6 s of CPU under TCG) that the image leaves out; cloud-init runs on every boot of every server.
systemctl mask --quiet sshd-keygen.service

# Immutable: the server never updates itself. Updates arrive as a new image.
cat > /etc/apt/apt.conf.d/20auto-upgrades <<'CONF'
APT::Periodic::Update-Package-Lists "0";
APT::Periodic::Unattended-Upgrade "0";
CONF
# (dpkg-db-backup: a daily copy of a package database that never changes here.)
for unit in apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service unattended-upgrades.service man-db.timer e2scrub_all.timer e2scrub_reap.service dpkg-db-backup.timer dpkg-db-backup.service; do
    systemctl mask "$unit" >/dev/null 2>&1 || true
done

# Boot work a cloud server from this image never needs; each was a process (or several) started under
# emulation while cloud-init's first stage, on the app's critical path, started its Python (a TCG first
# boot: about 2 s sooner healthy with them gone, benchmarks/boot.py). Masked (a link to /dev/null, as
# systemd.generator(7) and systemctl mask document), not deleted: a package upgrade does not bring them back.
# Generators systemd runs before it loads any unit: encrypted, integrity and verity volumes (none here),
# hibernation (a server never resumes), partitions found by GPT type (/ and the rest come from /etc/fstab),
# offline system updates (an image is never updated in place), /etc/rc.local (none), units named on the kernel
# command line (systemd.run=), SysV init scripts (every script in this image's /etc/init.d has a native
# unit, or is masked by Debian), sshd on AF_VSOCK and a local AF_UNIX socket (SSH is sshd on TCP 22 only:
# nothing reaches a server through its hypervisor) and TPM2 (no measured boot, no TPM-sealed secret). The
# cryptsetup, integritysetup and veritysetup generators are in Debian 13's systemd-cryptsetup, not installed:
# masked all the same, should a package pull it in. Kept: fstab, getty (the serial console), debug
# (systemd.mask= and rescue on the kernel command line, for whoever boots a broken server from the console)
# and cloud-init's.
install -d -m 0755 /etc/systemd/system-generators
for generator in systemd-cryptsetup-generator systemd-integritysetup-generator systemd-veritysetup-generator \
    systemd-hibernate-resume-generator systemd-gpt-auto-generator systemd-system-update-generator \
    systemd-rc-local-generator systemd-run-generator systemd-sysv-generator systemd-ssh-generator systemd-tpm2-generator; do
    ln -sf /dev/null "/etc/systemd/system-generators/$generator"
done
# Units of early boot: foreign binary formats (binfmt_misc), kernel modules for a display (drm), the device
# mapper, loop devices, FUSE and configfs (none used; the device mapper's drivers are gone, above), and the
# kernel's debug, tracing and huge-page file systems, and the static device nodes of modules that are never
# loaded. Fewer kernel interfaces is hardening too. Kept: pstore (a crashed kernel's last words, on clouds
# whose firmware keeps them).
systemctl mask --quiet systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount \
    modprobe@drm.service modprobe@dm_mod.service modprobe@loop.service modprobe@fuse.service sys-fs-fuse-connections.mount \
    modprobe@configfs.service sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount \
    kmod-static-nodes.service

# cloud-init: look only where our clouds put user-data (and the local NoCloud seed),
# instead of probing every datasource it knows at every boot. SSH keys from the cloud's
# metadata (the stack's sshKeys) go to root, key-only, as on DigitalOcean; no default
# user with passwordless sudo is created.
install -d -m 0755 /etc/cloud/cloud.cfg.d
cat > /etc/cloud/cloud.cfg.d/90-immutable.cfg <<'CONF'
datasource_list: [NoCloud, ConfigDrive, DigitalOcean, Ec2, None]
disable_root: false
users: []
ssh_pwauth: false
# Host keys: Ed25519 and ECDSA, which every SSH client of the last decade (and Packer's) accepts.
# No RSA key: making a 3072-bit one was 3.6 s of the first boot's critical path (TCG), the slowest module.
ssh_genkeytypes: [ed25519, ecdsa]
CONF
# Only the modules a server from this image uses, instead of Debian's ~50 (apt, snap, puppet, chef,
# locale, keyboard, ntp...: each is loaded, and some act, at every first boot). Kept: what user-data
# uses (bootcmd, write_files, rsyslog, runcmd), the cloud's disk size (growpart, resizefs), the
# droplet's name (set_hostname...), root's SSH keys and the host keys (users_groups, ssh), ssh_pwauth
# (set_passwords), the cloud's vendor data and per-boot scripts, the host keys and the final message
# on the console.
cat > /etc/cloud/cloud.cfg.d/91-immutable-modules.cfg <<'CONF'
cloud_init_modules: [seed_random, bootcmd, write_files, growpart, resizefs, set_hostname, update_hostname, update_etc_hosts, rsyslog, users_groups, ssh]
cloud_config_modules: [set_passwords, runcmd]
cloud_final_modules: [scripts_vendor, scripts_per_once, scripts_per_boot, scripts_per_instance, scripts_user, keys_to_console, final_message]
CONF

# Readahead: cloud-init's first stage is the longest step of the app's critical path, and most of it is
# Python loading cloud-init's modules from a cold disk (TCG: 5.0 s cold, 2.7 s warm). The list of the files it
# loads (compiled modules, extensions, the interpreter) is taken here, from this image's own cloud-init; at
# boot a unit with no dependencies reads them into the page cache while systemd is still starting, before
# cloud-init-local.service asks for them (about 1 s sooner healthy under TCG, benchmarks/boot.py; on EC2 it
# also touches those blocks of a volume restored from its snapshot early). A stale list costs nothing but
# time: a missing file is skipped (xargs's and cat's failure is ignored, "-").
install -d -m 0755 /usr/lib/immutable-web
python3 -I - > /usr/lib/immutable-web/readahead.list <<'PY'
import os
import sys

import cloudinit.cmd.main  # noqa: F401  (what `cloud-init init --local` imports before it does anything)

files = {os.path.realpath(sys.executable)}
for module in list(sys.modules.values()):
    for path in (getattr(module, "__cached__", None), getattr(module, "__file__", None)):
        if path and not path.endswith(".py") and os.path.isfile(path):
            files.add(os.path.realpath(path))
print("\n".join(sorted(files)))
PY
cat > /etc/systemd/system/boot-readahead.service <<'UNIT'
[Unit]
Description=Read the files cloud-init's first stage loads into the page cache (images/scripts/base.sh)
# Starts with the first units of the boot and orders nothing: nothing waits for it.
DefaultDependencies=no

[Service]
Type=exec
ExecStart=-/usr/bin/xargs --arg-file=/usr/lib/immutable-web/readahead.list /usr/bin/cat --
StandardOutput=null
# Reads world-readable files only: root without a capability, that can gain none. No namespaces to set up
# (ProtectSystem= and the like): they cost time this early. (systemd refuses User=nobody as unsafe.)
CapabilityBoundingSet=
NoNewPrivileges=yes

[Install]
WantedBy=sysinit.target
UNIT
systemctl enable --quiet boot-readahead.service

# The cloud's metadata endpoint serves the user-data (the database password, APP_SECRET) to
# any local process that asks, so the env file's 0600 would protect nothing: only root
# (cloud-init) may reach it. nftables.service loads /etc/nftables.conf in sysinit.target,
# before any ordinary service starts. The rule matches the sending socket's owner; the
# app's user is refused at once (admin-prohibited), and the counter shows it happened.
# tests/images/test_metadata_firewall.py checks this ruleset (parsed from here) with nft.
cat > /etc/nftables.conf <<'NFT'
#!/usr/sbin/nft -f
# Written by the base image (images/scripts/base.sh). Loaded at boot by nftables.service.
flush ruleset

table inet metadata {
    chain output {
        type filter hook output priority filter; policy accept;
        # DigitalOcean and EC2 (IPv4), EC2 (IPv6): root only.
        ip daddr 169.254.169.254 meta skuid != 0 counter reject with icmpx type admin-prohibited
        ip6 daddr fd00:ec2::254 meta skuid != 0 counter reject with icmpx type admin-prohibited
    }
}
NFT
chmod 0644 /etc/nftables.conf
systemctl enable --quiet nftables.service

# The log shipper's own key and self-signed certificate, made at a server's first boot (never baked:
# cleanup.sh deletes them). librelp checks the log receiver's certificate name only when the sender
# presents a certificate of its own; the receiver need not check it. Paths: components/common/log_shipping.py.
cat > /etc/systemd/system/rsyslog-sender-key.service <<'UNIT'
[Unit]
Description=Key and self-signed certificate rsyslog presents when it ships logs over RELP and TLS
# rsyslog reads them when it loads the shipping rule: they exist before it starts.
Before=rsyslog.service
ConditionPathExists=!/var/lib/rsyslog-sender/cert.pem

[Service]
Type=oneshot
# The key is root's alone (rsyslog runs as root on Debian).
UMask=0077
StateDirectory=rsyslog-sender
StateDirectoryMode=0700
ExecStart=/usr/bin/openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500 -subj /CN=immutable-web-log-sender -keyout /var/lib/rsyslog-sender/key.pem -out /var/lib/rsyslog-sender/cert.pem
# It only writes two files in its state directory.
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateNetwork=yes
NoNewPrivileges=yes

[Install]
WantedBy=multi-user.target
UNIT
systemctl enable --quiet rsyslog-sender-key.service

# No file system check of / at boot: it was 2.2 s of the first boot's critical path (systemd-fsck-root, TCG),
# before cloud-init could start. ext4's journal still replays at mount after a crash, and errors=remount-ro
# still catches what the kernel finds; a server whose disk is damaged is replaced, never repaired.
awk '$1 !~ /^#/ && $2 == "/" && NF >= 6 { $6 = 0 } { print }' /etc/fstab > /etc/fstab.immutable
mv /etc/fstab.immutable /etc/fstab

# Boot without waiting at a menu.
if [ -f /etc/default/grub ]; then
    sed -i 's/^GRUB_TIMEOUT=.*/GRUB_TIMEOUT=0/' /etc/default/grub
    if command -v update-grub >/dev/null 2>&1; then update-grub >/dev/null 2>&1; fi
fi
if [ -f /boot/extlinux/extlinux.conf ]; then
    sed -i 's/^TIMEOUT .*/TIMEOUT 1/' /boot/extlinux/extlinux.conf
fi
echo "base.sh: done"
