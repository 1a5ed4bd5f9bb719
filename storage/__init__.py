"""Storage: SQLAlchemy models, the database connection, migrations and queries."""
