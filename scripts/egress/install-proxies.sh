#!/usr/bin/env bash
# The real proxy servers the egress tests run (tests/egress): Debian's tinyproxy (HTTP) and
# dante-server (SOCKS5). The tests start their own instances on free loopback ports; the
# packages' own services are not needed (and do not start where there is no init system).
set -euo pipefail
if command -v tinyproxy >/dev/null && command -v danted >/dev/null; then
  exit 0
fi
echo "egress: installing Debian's tinyproxy and dante-server"
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  tinyproxy dante-server >/dev/null
