"""Root fixtures shared by every test package."""

pytest_plugins = ["grok_sim.pytest_plugin"]
