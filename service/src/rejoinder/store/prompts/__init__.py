"""Prompt templates: the protocol (base.py), the SQL both databases run (sql.py), SQLite and
PostgreSQL (sqlite.py, postgres.py), timed (observed.py)."""
