"""Copy the observability files the Helm chart ships into the chart folder.

Usage:
    python3 scripts/tools/sync_chart_files.py           copy them
    python3 scripts/tools/sync_chart_files.py --check   exit 1, naming the stale copies, when
                                                        a copy differs from its source

Helm packages only what lies inside the chart folder, so the Grafana dashboard and the alert
rules (sources in deploy/observability/) are committed as copies under the chart's files/;
a symlink would break in `helm package` archives and on checkouts without symlinks. The
chart tests run the same check, so a stale copy fails `make test`.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART_FILES = ROOT / "deploy" / "helm" / "grok2api" / "files"
COPIES = {
    ROOT / "deploy/observability/grafana/grok2api.json": CHART_FILES / "grafana-dashboard.json",
    ROOT / "deploy/observability/prometheus/alerts.yaml": CHART_FILES / "prometheus-alerts.yaml",
}


def stale() -> list[pathlib.Path]:
    """The copies missing or differing from their sources."""
    return [
        copy for source, copy in COPIES.items()
        if not copy.exists() or copy.read_bytes() != source.read_bytes()
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale copies")
    args = parser.parse_args()
    if args.check:
        outdated = stale()
        for copy in outdated:
            print(f"{copy.relative_to(ROOT)} is stale: run `make chart-files`", file=sys.stderr)
        return 1 if outdated else 0
    for source, copy in COPIES.items():
        shutil.copyfile(source, copy)
        print(f"{source.relative_to(ROOT)} -> {copy.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
