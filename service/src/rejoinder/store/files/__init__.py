"""Files: their metadata (base.py the protocol, sql.py the SQL both databases run, sqlite.py,
postgres.py, observed.py) and their bytes (blob_dir.py beside SQLite; PostgreSQL keeps them in the
database itself)."""
