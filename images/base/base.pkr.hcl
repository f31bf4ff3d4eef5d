# The base layer: a hardened Debian 13 (trixie) every app image builds on. Rebuilt only when its
# own inputs (this folder, images/common, its scripts, the source image) change.
# The sources, the shared variables and the plugin pins are images/common's (linked here);
# this file holds what only the base takes and its build.

variable "source_image" {
  type        = string
  description = "DigitalOcean image slug the base starts from."
  default     = "debian-13-x64"
}

variable "aws_source_ami_owner" {
  type        = string
  description = "Owner of the Debian 13 AMI the base starts from (136693071363 is the Debian cloud team's: no other account's AMI of that name is taken)."
  default     = "136693071363"
}

variable "qemu_source_disk" {
  type        = string
  description = "qemu source only: the stock Debian 13 qcow2 (images/local/make-base-disk.sh makes one)."
  default     = "images/local/.cache/debian-13.qcow2"
}

variable "qemu_output_directory" {
  type        = string
  description = "qemu source only: where the base qcow2 is written."
  default     = "images/local/.cache/base"
}

variable "patch_level" {
  type        = string
  description = "The state of Debian's archive the base's packages come from: a snapshot.debian.org timestamp (YYYYMMDDTHHMMSSZ, UTC), the line in images/base/patch-level."
  validation {
    # Packer 1.6 has no regex(): 16 characters, T and Z in their places, digits in the rest.
    condition     = length(var.patch_level) == 16 && substr(var.patch_level, 8, 1) == "T" && substr(var.patch_level, 15, 1) == "Z" && length(trim(join("", [substr(var.patch_level, 0, 8), substr(var.patch_level, 9, 6)]), "0123456789")) == 0
    error_message = "The patch_level must be a UTC timestamp YYYYMMDDTHHMMSSZ (snapshot.debian.org's form, e.g. 20261207T000000Z)."
  }
}

variable "apt_snapshot_url" {
  type        = string
  description = "Debian's snapshot archive the cloud bakes install from at the patch level (snapshot.debian.org, or a mirror of it)."
  default     = "https://snapshot.debian.org/archive"
}

variable "apt_offline" {
  type        = bool
  description = "True when the builder has no network (the local qemu bake): install nothing, require the packages to be on the source disk."
  default     = false
}

build {
  # Each source is images/common's, named after the layer: `-only=qemu.base` selects the local one.
  source "source.digitalocean.image" {
    name  = "base"
    image = var.source_image
  }

  source "source.amazon-ebs.image" {
    name = "base"
    source_ami_filter {
      filters = {
        name                = "debian-13-amd64-*"
        virtualization-type = "hvm"
        root-device-type    = "ebs"
      }
      owners      = [var.aws_source_ami_owner]
      most_recent = true
    }
    tags = {
      Name  = var.image_name
      Layer = "base"
    }
  }

  source "source.qemu.image" {
    name    = "base"
    iso_url = var.qemu_source_disk
  }

  # base.sh writes apt's sources for the patch level with it (cloud bakes).
  provisioner "file" {
    source      = "${path.root}/../scripts/snapshot-sources.sh"
    destination = "/tmp/snapshot-sources.sh"
  }

  provisioner "shell" {
    execute_command  = local.execute_command
    environment_vars = ["APT_OFFLINE=${var.apt_offline}", "PATCH_LEVEL=${var.patch_level}", "APT_SNAPSHOT_URL=${var.apt_snapshot_url}"]
    # manifest.sh records the packages and the patch level, after the last package change.
    scripts = ["${path.root}/../scripts/base.sh", "${path.root}/../scripts/manifest.sh", "${path.root}/../scripts/cleanup.sh"]
  }

  # The image's package manifest, downloaded beside this machine's checkout: `scripts/patch-level diff` compares two.
  provisioner "file" {
    direction   = "download"
    source      = "/usr/share/immutable-web/packages.manifest"
    destination = var.package_manifest_path
  }

  post-processor "manifest" {
    output     = var.manifest_path
    strip_path = true
    custom_data = {
      layer        = "base"
      image_name   = var.image_name
      source_image = var.source_image
      patch_level  = var.patch_level
    }
  }
}
