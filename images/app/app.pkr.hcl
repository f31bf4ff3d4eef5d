# The app layer: the base plus the app and its unit. What the fleet boots.

source "digitalocean" "app" {
  # The API token comes from DIGITALOCEAN_TOKEN in the environment (var.digitalocean_token), never from a file.
  api_token        = var.digitalocean_token
  image            = var.base_image
  region           = var.region
  size             = var.size
  snapshot_name    = var.image_name
  snapshot_regions = var.snapshot_regions
  droplet_name     = "packer-${var.image_name}"
  ssh_username     = "root"
  tags             = ["packer-builder"]
}

source "amazon-ebs" "app" {
  region        = var.aws_region
  instance_type = var.aws_instance_type
  source_ami    = var.base_image
  ami_name      = var.image_name
  ami_regions   = var.aws_copy_regions
  ssh_username  = "admin"
  # Nitro instance types need ENA; Debian's AMIs have the driver (Packer 1.6 validates this; not imds_support).
  ena_support = true
  tags = {
    Name       = var.image_name
    Layer      = "app"
    AppVersion = var.app_version
    SourceHash = var.source_hash
  }
}

source "qemu" "app" {
  disk_image           = true
  iso_url              = var.base_image
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

build {
  sources = ["source.digitalocean.app", "source.amazon-ebs.app", "source.qemu.app"]

  # Uploads the folder itself (no trailing slash): it lands as /tmp/webapp.
  provisioner "file" {
    source      = "${path.root}/../webapp"
    destination = "/tmp"
  }

  provisioner "shell" {
    # root on DigitalOcean and qemu, `admin` with sudo on AWS.
    execute_command = "chmod +x {{ .Path }}; if [ \"$(id -u)\" -eq 0 ]; then env {{ .Vars }} {{ .Path }}; else sudo env {{ .Vars }} {{ .Path }}; fi"
    environment_vars = [
      "WEBAPP_SOURCE=/tmp/webapp",
      "APP_NAME=${var.app_name}",
      "APP_VERSION=${var.app_version}",
      "IMAGE_NAME=${var.image_name}",
    ]
    # database-ca.sh acts on amazon-ebs bakes only (RDS's CA bundle; Packer sets PACKER_BUILDER_TYPE).
    scripts = ["${path.root}/../scripts/app.sh", "${path.root}/../scripts/database-ca.sh", "${path.root}/../scripts/cleanup.sh"]
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
