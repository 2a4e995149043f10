"""Hypothesis profiles of the fuzz suite and the summary line with the number of cases.

The profile is chosen by ``GROK2API_FUZZ`` (see ``fuzz_profile``). Neither profile has a
per-example deadline: the machine is shared and noisy, so a hang is caught by the request
and test timeouts instead of by timing each example.
"""

from __future__ import annotations

import pytest
from fuzz_profile import PARSER_EXAMPLES, PROFILE
from hypothesis import HealthCheck, settings

settings.register_profile(
    "short",
    max_examples=PARSER_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)
settings.register_profile(
    "soak",
    max_examples=PARSER_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)
settings.load_profile(PROFILE)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    import fuzz_profile

    if fuzz_profile.cases:
        terminalreporter.write_line(
            f"fuzz: {fuzz_profile.cases} generated cases (profile {PROFILE})"
        )
