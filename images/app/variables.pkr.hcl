variable "image_name" {
  type        = string
  description = "Name of the snapshot / AMI / qcow2 to produce: <app>-<version>-<source hash>."
  validation {
    condition     = length(var.image_name) >= 3 && length(var.image_name) <= 128
    error_message = "The image_name must be 3 to 128 characters."
  }
}

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

variable "region" {
  type        = string
  description = "DigitalOcean region the builder droplet runs in."
  default     = "nyc3"
  validation {
    condition     = contains(["ams3", "atl1", "blr1", "fra1", "lon1", "nyc1", "nyc2", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1"], var.region)
    error_message = "The region must be a DigitalOcean region slug (ams3, atl1, blr1, fra1, lon1, nyc1, nyc2, nyc3, sfo2, sfo3, sgp1, syd1, tor1)."
  }
}

variable "snapshot_regions" {
  type        = list(string)
  description = "Regions the snapshot is copied to (the build region and every region a promoting stack runs in)."
  default     = []
}

variable "digitalocean_token" {
  type        = string
  description = "DigitalOcean API token for the builder droplet and the snapshot; read from DIGITALOCEAN_TOKEN (the variable the Pulumi provider reads too), never from a file."
  default     = env("DIGITALOCEAN_TOKEN")
  sensitive   = true
}

variable "size" {
  type        = string
  description = "Droplet size of the temporary builder."
  default     = "s-1vcpu-1gb"
}

variable "aws_region" {
  type        = string
  description = "AWS region of the temporary builder instance (amazon-ebs source)."
  default     = "us-east-1"
}

variable "aws_instance_type" {
  type        = string
  description = "Instance type of the temporary builder."
  default     = "t3.micro"
}

variable "aws_copy_regions" {
  type        = list(string)
  description = "Regions the AMI is copied to."
  default     = []
}

variable "qemu_output_directory" {
  type        = string
  description = "qemu source only: where the app qcow2 is written."
  default     = "images/local/.cache/app"
}

variable "qemu_accelerator" {
  type        = string
  description = "qemu source only: kvm where it works, else tcg (software emulation)."
  default     = "tcg"
  validation {
    condition     = contains(["kvm", "tcg"], var.qemu_accelerator)
    error_message = "The qemu_accelerator must be kvm or tcg."
  }
}

variable "qemu_seed_files" {
  type        = list(string)
  description = "qemu source only: user-data and meta-data of the NoCloud seed that gives the builder Packer's SSH key (a cloud does this from its metadata)."
  default     = []
}

variable "qemu_ssh_private_key_file" {
  type        = string
  description = "qemu source only: private half of the key in the seed."
  default     = ""
}

variable "manifest_path" {
  type        = string
  description = "Where the manifest post-processor records what was built."
  default     = "packer-manifest.json"
}
