#!/usr/bin/env bash
# Builds the grok2api image with podman, offline: the base image is made from Debian packages
# (base-image.sh), uv comes from the pinned copy `make` bootstraps, and the lock file's
# wheels are fetched on the host by uv (its ordinary PyPI client) into the host's uv cache,
# which the build mounts as a throwaway overlay; the build itself runs with --network=none.
#   usage: build-image.sh IMAGE_NAME [PODMAN_GLOBAL_ARGS...]   (e.g. --root DIR --runroot DIR)
set -euo pipefail
cd "$(dirname "$0")/../.."
name=${1:?usage: build-image.sh IMAGE_NAME [PODMAN_GLOBAL_ARGS...]}
shift
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/scripts/container/containers.conf}
uv=${UV:-$(command -v uv || echo .tools/venv/bin/uv)}
uv_version=$("$uv" --version | awk '{print $2}')
python=/usr/bin/python3.11  # the interpreter the Debian base image carries

base=$(scripts/container/base-image.sh localhost/grok2api-base:bookworm "$@")

# uv's own image (ghcr.io/astral-sh/uv) holds just /uv: made here from the pinned binary.
uv_image=localhost/grok2api-uv:$uv_version
if ! podman "$@" image exists "$uv_image"; then
  staging=$(mktemp -d)
  trap 'rm -rf "$staging"' EXIT
  cp "$uv" "$staging/uv"
  tar -C "$staging" -cf "$staging/uv.tar" uv
  podman "$@" import --quiet "$staging/uv.tar" "$uv_image" >/dev/null
fi

# Every wheel the image installs lands in the host's uv cache (a no-op once it is there).
UV_PROJECT_ENVIRONMENT=.cache/container/cache-warmer "$uv" sync --quiet --frozen --no-dev \
  --all-packages --no-editable --python "$python"
cache=$("$uv" cache dir)

podman "$@" build --pull=never --network=none --format=docker \
  --build-arg BASE="$base" --build-arg UV_IMAGE="$uv_image" --build-arg UV_OFFLINE=1 \
  --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --volume "$cache:/root/.cache/uv:O" \
  --tag "$name" .
