"""Fixtures of the chart tests: one helm with private folders per session."""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import pytest
from chart_render import CHART, Helm, Rendered, helm_binary


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    home: pathlib.Path = tmp_path_factory.mktemp("helm-home")
    return Helm(binary=helm_binary(), home=home)


@pytest.fixture(scope="session")
def render_ci(helm: Helm) -> Callable[[str], Rendered]:
    """The chart rendered with one ci/ scenario (by file name), once per session."""
    cache: dict[str, Rendered] = {}

    def render(file_name: str) -> Rendered:
        if file_name not in cache:
            cache[file_name] = helm.render([CHART / "ci" / file_name])
        return cache[file_name]

    return render
