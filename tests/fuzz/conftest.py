"""Hypothesis profiles of the fuzz suite, its place in ``make test-soak``, and the summary
line with the number of generated cases.

The profile is chosen by ``GROK2API_FUZZ`` (see ``fuzz_profile``). Neither profile has a
per-example deadline: the machine is shared and noisy, so a hang is caught by the request
and test timeouts instead of by timing each example. Neither keeps an example database:
a run leaves no ``.hypothesis`` folder behind, and a failure prints its case in full.
Under the soak profile every test here is marked ``soak``, which is how
``make test-soak`` (``pytest -m soak``) selects them beside the soak tests elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import fuzz_profile
import pytest
from hypothesis import HealthCheck, settings

for name, examples in fuzz_profile.PARSER_EXAMPLES_OF.items():
    settings.register_profile(
        name,
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
settings.load_profile(fuzz_profile.PROFILE)
_HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: long fault and fuzz runs (make test-soak)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if fuzz_profile.SOAK:
        for item in items:
            if item.path.is_relative_to(_HERE):
                item.add_marker(pytest.mark.soak)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if fuzz_profile.cases:
        terminalreporter.write_line(
            f"fuzz: {fuzz_profile.cases} generated cases (profile {fuzz_profile.PROFILE})"
        )
