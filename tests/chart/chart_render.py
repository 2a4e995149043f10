"""Running the real ``helm`` against the chart and reading what it renders.

``helm`` is the pinned binary ``make`` fetches into ``.tools/bin`` (scripts/tools/fetch_helm.py),
or ``$HELM``. A missing helm fails the tests with the command that fetches it: ``make test``
fetches it first, so a skip would only hide a broken setup.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "grok2api"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
RELEASE = "gk"
NAMESPACE = "llm"
# A key in the format the chart demands; it encrypts nothing anywhere.
TEST_KEY = "Y2hhcnQtdGVzdHMtb25seS1ub3QtYS1yZWFsLWtleSE="
DEFAULTS = CHART / "ci" / "default-values.yaml"


def helm_binary() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("HELM") or ROOT / ".tools" / "bin" / "helm")
    if not path.is_file():
        raise AssertionError(
            f"helm not found at {path}: run `make chart-test` (or "
            "`python3 scripts/tools/fetch_helm.py`), which fetches the pinned helm"
        )
    return path


@dataclasses.dataclass(frozen=True)
class Helm:
    """The helm binary with its cache, config and data folders kept inside ``home``."""

    binary: pathlib.Path
    home: pathlib.Path

    def run(self, *args: str, cwd: pathlib.Path = ROOT) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }
        return subprocess.run(
            [str(self.binary), *args], capture_output=True, text=True, env=env, cwd=cwd,
            check=False, timeout=60,
        )

    def template_args(
        self, values: Sequence[pathlib.Path] = (), overrides: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """``helm template`` over ``values`` files, then ``overrides`` (a values tree)."""
        args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
        files = list(values)
        if overrides is not None:
            self.home.mkdir(parents=True, exist_ok=True)
            extra = self.home / f"overrides-{len(list(self.home.glob('overrides-*')))}.yaml"
            extra.write_text(yaml.safe_dump(dict(overrides)))
            files.append(extra)
        for path in files:
            args += ["-f", str(path)]
        return args

    def render(
        self, values: Sequence[pathlib.Path] = (), overrides: Mapping[str, Any] | None = None,
    ) -> Rendered:
        result = self.run(*self.template_args(values, overrides))
        assert result.returncode == 0, f"helm template failed:\n{result.stderr}"
        return Rendered.parse(result.stdout)

    def refusal(
        self, values: Sequence[pathlib.Path] = (), overrides: Mapping[str, Any] | None = None,
    ) -> str:
        """helm's error output for values the chart must refuse (fails if it renders)."""
        result = self.run(*self.template_args(values, overrides))
        assert result.returncode != 0, "the chart rendered values it should refuse"
        return result.stderr


@dataclasses.dataclass(frozen=True)
class Rendered:
    """Every object ``helm template`` printed, in order."""

    objects: tuple[dict[str, Any], ...]

    @classmethod
    def parse(cls, text: str) -> Rendered:
        return cls(tuple(doc for doc in yaml.safe_load_all(text) if doc))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.objects)

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [obj for obj in self.kinds(kind) if obj["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
        return found[0]

    def has(self, kind: str, name: str) -> bool:
        return any(obj["metadata"]["name"] == name for obj in self.kinds(kind))

    def deployment(self, component: str) -> dict[str, Any]:
        return self.get("Deployment", name(component))


def name(component: str) -> str:
    """The object name the chart gives a component in the test release."""
    return f"{RELEASE}-grok2api-{component}"


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only  # type: ignore[no-any-return]


def env_of(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container(deployment).get("env", [])}


def matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())
