"""Persistence: SQLModel tables, the async database, the repository and migrations."""
