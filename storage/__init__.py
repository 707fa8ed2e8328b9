"""SQLAlchemy 2 async models and engine set-up (SQLite by default, PostgreSQL for larger hosts)."""
