# The Packer core and plugin versions both layers are written for; `packer init` installs them.
# Each layer folder links here (images/base/plugins.pkr.hcl, images/app/plugins.pkr.hcl).
# (Kept in its own file: Packer 1.6, used offline in this repo's tests, predates
# required_plugins; its builders are built in. See images/README.md.)
packer {
  required_version = ">= 1.9.0"
  required_plugins {
    digitalocean = {
      source  = "github.com/digitalocean/digitalocean"
      version = "~> 1.4"
    }
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = "~> 1.3"
    }
    qemu = {
      source  = "github.com/hashicorp/qemu"
      version = "~> 1.1"
    }
  }
}
