"""Pytest fixtures that run the upstream simulator (filled in by the simulator work)."""
