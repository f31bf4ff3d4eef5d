# The three sources both layers bake with, so what is tested on this machine (qemu) is what
# ships (digitalocean, amazon-ebs). Each layer folder links here and its build block fills in
# what differs: the image it starts from, the AMI's tags, and the build's name
# (`name = "base"` makes `qemu.base`, the name `-only=` selects). Packer does not let a build
# override a field set here, so those fields are set only there. qemu_output_directory is
# declared by each layer (its default names the layer).

source "digitalocean" "image" {
  # The API token comes from DIGITALOCEAN_TOKEN in the environment (var.digitalocean_token), never from a file.
  api_token        = var.digitalocean_token
  region           = var.region
  size             = var.size
  snapshot_name    = var.image_name
  snapshot_regions = var.snapshot_regions
  droplet_name     = "packer-${var.image_name}"
  ssh_username     = "root"
  tags             = ["packer-builder"]
}

source "amazon-ebs" "image" {
  region        = var.aws_region
  instance_type = var.aws_instance_type
  ami_name      = var.image_name
  ami_regions   = var.aws_copy_regions
  ssh_username  = "admin"
  # Nitro instance types need ENA; Debian's AMIs have the driver (Packer 1.6 validates this; not imds_support).
  ena_support = true
}

source "qemu" "image" {
  disk_image           = true
  iso_checksum         = "none"
  use_backing_file     = false
  format               = "qcow2"
  disk_size            = "2048M"
  disk_interface       = "virtio"
  disk_discard         = "unmap"
  disk_detect_zeroes   = "unmap"
  disk_compression     = true
  net_device           = "virtio-net"
  accelerator          = var.qemu_accelerator
  cpus                 = 2
  memory               = 1024
  headless             = true
  output_directory     = var.qemu_output_directory
  vm_name              = "${var.image_name}.qcow2"
  cd_files             = var.qemu_seed_files
  cd_label             = "cidata"
  ssh_username         = "root"
  ssh_private_key_file = var.qemu_ssh_private_key_file
  ssh_timeout          = "20m"
  shutdown_command     = "shutdown -P now"
  # User networking restricted to this machine: the guest reaches only the forwarded SSH port.
  qemuargs = [
    ["-netdev", "user,id=user.0,restrict=on,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22"],
    ["-serial", "file:${var.qemu_output_directory}-console.log"],
  ]
  # Written zstd-compressed instead of qcow2's default zlib: 3 MiB smaller here, and ~15x faster to write.
  qemu_img_args {
    convert = ["-o", "compression_type=zstd"]
  }
}

locals {
  # The shell provisioners' command: root on DigitalOcean and qemu, `admin` with sudo on AWS.
  execute_command = "chmod +x {{ .Path }}; if [ \"$(id -u)\" -eq 0 ]; then env {{ .Vars }} {{ .Path }}; else sudo env {{ .Vars }} {{ .Path }}; fi"
}
