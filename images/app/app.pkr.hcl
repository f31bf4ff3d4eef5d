# The app layer: the base plus the app and its unit. What the fleet boots.
# The sources, the shared variables and the plugin pins are images/common's (linked here);
# this file holds what only the app takes and its build.

variable "base_image" {
  type        = string
  description = "The base layer this image builds on: a DigitalOcean snapshot id, an AMI id, or (qemu) the base qcow2's path."
  validation {
    condition     = length(var.base_image) > 0
    error_message = "The base_image must name the base layer (snapshot id, AMI id or qcow2 path)."
  }
}

variable "app_name" {
  type        = string
  description = "The app's name, baked into /etc/webapp/image.env."
  default     = "hello"
  validation {
    condition     = length(var.app_name) > 0 && length(split("\"", var.app_name)) == 1 && length(split("$", var.app_name)) == 1 && length(split("`", var.app_name)) == 1 && length(split("\\", var.app_name)) == 1 && length(split(" ", var.app_name)) == 1
    error_message = "The app_name must be a plain name (no quotes, $, backquotes, backslashes or spaces)."
  }
}

variable "app_version" {
  type        = string
  description = "The app's version, baked into /etc/webapp/image.env and reported by /healthz."
  # image.env quotes it for systemd and the shell: no quote, $, backquote, backslash or space.
  validation {
    condition     = length(split(".", var.app_version)) >= 3 && length(split("\"", var.app_version)) == 1 && length(split("$", var.app_version)) == 1 && length(split("`", var.app_version)) == 1 && length(split("\\", var.app_version)) == 1 && length(split(" ", var.app_version)) == 1
    error_message = "The app_version must be a version like 1.4.2 or 1.5.0-rc.1 (no quotes, $, backquotes, backslashes or spaces)."
  }
}

variable "source_hash" {
  type        = string
  description = "Content hash of this image's sources (images/app, images/scripts, images/webapp and the base's name), recorded in the manifest."
  validation {
    condition     = length(var.source_hash) == 12
    error_message = "The source_hash must be the 12 hex digits the Pulumi program computes."
  }
}

variable "qemu_output_directory" {
  type        = string
  description = "qemu source only: where the app qcow2 is written."
  default     = "images/local/.cache/app"
}

build {
  # Each source is images/common's, named after the layer, starting from the base image.
  source "source.digitalocean.image" {
    name  = "app"
    image = var.base_image
  }

  source "source.amazon-ebs.image" {
    name       = "app"
    source_ami = var.base_image
    tags = {
      Name       = var.image_name
      Layer      = "app"
      AppVersion = var.app_version
      SourceHash = var.source_hash
    }
  }

  source "source.qemu.image" {
    name    = "app"
    iso_url = var.base_image
  }

  # Uploads the folder itself (no trailing slash): it lands as /tmp/webapp.
  provisioner "file" {
    source      = "${path.root}/../webapp"
    destination = "/tmp"
  }

  provisioner "shell" {
    execute_command = local.execute_command
    environment_vars = [
      "WEBAPP_SOURCE=/tmp/webapp",
      "APP_NAME=${var.app_name}",
      "APP_VERSION=${var.app_version}",
      "IMAGE_NAME=${var.image_name}",
    ]
    # database-ca.sh acts on amazon-ebs bakes only (RDS's CA bundle; Packer sets PACKER_BUILDER_TYPE).
    # manifest.sh records the image's packages, with the patch level its base recorded.
    scripts = ["${path.root}/../scripts/app.sh", "${path.root}/../scripts/database-ca.sh", "${path.root}/../scripts/manifest.sh", "${path.root}/../scripts/cleanup.sh"]
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
      layer       = "app"
      image_name  = var.image_name
      app_name    = var.app_name
      app_version = var.app_version
      source_hash = var.source_hash
      base_image  = var.base_image
    }
  }
}
