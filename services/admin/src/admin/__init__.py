"""The admin service: the operator-facing API over the pool (the web panel grows here)."""
