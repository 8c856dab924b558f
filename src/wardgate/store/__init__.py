"""Storage: models, migrations (Alembic) and repositories. SQLite by default, PostgreSQL in production."""
