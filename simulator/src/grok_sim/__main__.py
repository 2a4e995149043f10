"""`python -m grok_sim serve ...` runs the simulator CLI."""

from .cli import app

app()
