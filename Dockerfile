# syntax=docker/dockerfile:1
# One image for every grok2api service: the argument is the target
# (all | gateway | token-pool | media-worker | admin | operator), `all` by default.
#   docker build -t grok2api .            then   docker run grok2api gateway
# BASE must carry Python 3.11; `make image` builds on a base made from Debian packages.
ARG BASE=python:3.11-slim
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

FROM ${BASE} AS build
SHELL ["/bin/sh", "-eu", "-c"]
# tini forwards SIGTERM to the service and reaps children; a base may already carry it.
# hadolint ignore=DL3008
RUN command -v tini >/dev/null || { apt-get update \
      && apt-get install -y --no-install-recommends tini \
      && rm -rf /var/lib/apt/lists/*; }; \
    cp "$(command -v tini)" /tini
COPY --from=uv /uv /usr/local/bin/uv
# The environment lives at its final path so its scripts' shebangs stay right.
ENV UV_PROJECT_ENVIRONMENT=/opt/grok2api \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
WORKDIR /src
COPY . .
# Exactly the lock file's versions, the workspace installed as wheels (no source needed).
# UV_OFFLINE=1 (a build argument) installs from a uv cache mounted at /root/.cache/uv.
ARG UV_OFFLINE
RUN uv sync --frozen --no-dev --all-packages --no-editable --python "$(command -v python3)"

FROM ${BASE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
# Where the source is published: set by whoever builds a published image.
ARG SOURCE=""
LABEL org.opencontainers.image.title="grok2api" \
      org.opencontainers.image.description="OpenAI-compatible API in front of a pool of Grok web accounts: gateway, token pool, media worker, admin and operator in one image" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}"
RUN groupadd --system --gid 10001 grok2api \
    && useradd --system --uid 10001 --gid grok2api --home-dir /data --no-create-home grok2api \
    && mkdir -p /data \
    && chown grok2api:grok2api /data
COPY --from=build /tini /usr/bin/tini
COPY --from=build /opt/grok2api /opt/grok2api
# The root filesystem can be read-only: bytecode is compiled in, logs go to stdout, and the
# only writes are DATA_DIR (/data) and the temporary directory.
ENV PATH=/opt/grok2api/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/data \
    LOG_FILE_ENABLED=false \
    SERVER_HOST=0.0.0.0 \
    SERVER_PORT=8000
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001
EXPOSE 8000 50051
# Every target but the operator answers /healthz on SERVER_PORT (the token pool and media
# worker beside their gRPC or queue work); run the operator with --no-healthcheck.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SERVER_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["tini", "--", "grok2api", "run", "--target"]
CMD ["all"]
