"""Alembic migrations, one transactional script per schema version."""
