"""The identity of the ``GrokToken`` custom resource (must match the CRD in the chart)."""

from __future__ import annotations

GROUP = "grok2api.io"
VERSION = "v1"
PLURAL = "groktokens"
KIND = "GrokToken"
