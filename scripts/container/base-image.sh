#!/usr/bin/env bash
# Makes the Dockerfile's base image from Debian packages when no image registry is reachable:
# Debian bookworm's Python 3.11 (what python:3.11-slim carries), CA certificates and tini,
# without documentation, manual pages or translations (merged /usr made by a hook, so no perl).
# The tar is cached in .cache/container/; `podman import` makes it the image named by $1.
#   usage: base-image.sh IMAGE_NAME [PODMAN_ARGS...]
set -euo pipefail
cd "$(dirname "$0")/../.."
name=${1:?usage: base-image.sh IMAGE_NAME [PODMAN_ARGS...]}
shift
tar=.cache/container/base-bookworm.tar
if [ ! -s "$tar" ]; then
  mkdir -p "$(dirname "$tar")"
  # The host's apt sources keep the image to the Debian mirror this machine already uses.
  sources=/etc/apt/sources.list.d/debian.sources
  [ -f "$sources" ] || sources=/etc/apt/sources.list
  mmdebstrap --quiet --format=tar --variant=minbase --include=python3,ca-certificates,tini \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    bookworm "$tar.partial" - < "$sources"
  mv "$tar.partial" "$tar"
fi
podman "$@" import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]' "$tar" "$name" >/dev/null
echo "$name"
