"""Vector stores' metadata: the protocol (base.py), its one SQL implementation (sql.py, with its
statements in statements.py) over each database's `Db` (db.py)."""
