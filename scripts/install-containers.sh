#!/bin/sh
# Installs what the images test and the MySQL leg of `pnpm test` need to build and run OCI images without a
# Docker engine: Debian's podman, runc (crun fails on these machines' cgroup layout) and mmdebstrap (the
# stand-in base images are built from Debian's packages, as no image registry is reachable).
# The podman settings (runc, ulimits no higher than the host's) are the repo's own file,
# packages/testkit/containers.conf, passed to podman as CONTAINERS_CONF: the machine's /etc is not changed.
# Idempotent: does nothing when the three are there.
set -eu
missing=''
for tool in podman runc mmdebstrap; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing="$missing $tool"
done
if [ -z "$missing" ]; then
  echo "podman, runc and mmdebstrap are installed: $(podman --version)"
  exit 0
fi
SUDO=''
if [ "$(id -u)" -ne 0 ]; then SUDO='sudo'; fi
$SUDO apt-get update -qq
# uidmap and slirp4netns come with podman; the containers run with --network host and need neither bridge nor DNS plugins.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends podman runc mmdebstrap uidmap
echo "installed:$missing ($(podman --version))"
