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

# Examples per property: parsers are cheap, API operations each cost a request.
PARSER_EXAMPLES = 1500 if SOAK else 60
API_EXAMPLES = 120 if SOAK else 6

cases = 0


def counted() -> None:
    """Call once per generated case."""
    global cases
    cases += 1
