"""Alembic migrations of the SQL store; run them with ``grok2api_storage.migrate``."""
