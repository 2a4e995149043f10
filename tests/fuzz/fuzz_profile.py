"""The fuzz suite's two profiles and its case counter.

``GROK2API_FUZZ=soak`` selects the soak profile (``make test-soak``: thousands of cases per
property); anything else the short one that ``make test`` runs. ``examples(parser=…, api=…)``
turns the profile into a Hypothesis example count; ``counted()`` records each generated
case so the session summary can say how many ran.
"""

from __future__ import annotations

import os

SOAK = os.environ.get("GROK2API_FUZZ", "").strip().lower() == "soak"
PROFILE = "soak" if SOAK else "short"

# Examples per parser property and per API operation and mode (each costs a request).
PARSER_EXAMPLES_OF = {"short": 50, "soak": 1000}
API_EXAMPLES_OF = {"short": 5, "soak": 40}
PARSER_EXAMPLES = PARSER_EXAMPLES_OF[PROFILE]
API_EXAMPLES = API_EXAMPLES_OF[PROFILE]

cases = 0


def counted() -> None:
    """Call once per generated case."""
    global cases
    cases += 1
