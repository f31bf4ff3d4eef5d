# The variables both layers take; each layer folder links here, and its own template
# (base.pkr.hcl, app.pkr.hcl) declares the variables only it takes.

variable "image_name" {
  type        = string
  description = "Name of the snapshot / AMI / qcow2 to produce; carries the content hash of what the layer is made from (webapp-base-<hash>, <app>-<version>-<hash>)."
  validation {
    condition     = length(var.image_name) >= 3 && length(var.image_name) <= 128
    error_message = "The image_name must be 3 to 128 characters."
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

variable "package_manifest_path" {
  type        = string
  description = "Where the image's package manifest (images/scripts/manifest.sh: every installed package and its version) is downloaded to."
  default     = "packages.manifest"
}

variable "manifest_path" {
  type        = string
  description = "Where the manifest post-processor records what was built."
  default     = "packer-manifest.json"
}
