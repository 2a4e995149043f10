"""The ``grok2api`` command: the composition root that builds settings, clients and
services and runs them, alone or all in one process."""

from importlib import metadata


def version() -> str:
    return metadata.version("grok2api")
