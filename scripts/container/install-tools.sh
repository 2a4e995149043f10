#!/usr/bin/env bash
# Installs what building and running the image needs here (Debian): rootful podman with runc,
# netavark with aardvark-dns (containers find each other by name), mmdebstrap for the locally
# made base image, docker-compose for the compose file.
# Used by `make image`, `make container-test` and .ci/run; does nothing when all are present.
set -euo pipefail
missing=()
for tool in podman buildah mmdebstrap runc newuidmap docker-compose netavark aardvark-dns; do
  command -v "$tool" >/dev/null || [ -x "/usr/lib/podman/$tool" ] || missing+=("$tool")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "container tools: installing Debian packages for: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends \
  podman buildah mmdebstrap uidmap runc docker-compose netavark aardvark-dns \
  fuse-overlayfs slirp4netns iptables >/dev/null
