"""The vector index behind vector stores: chunking (chunking.py), attribute filters (filters.py), the
`VectorIndex` protocol (base.py), hybrid ranking (fusion.py), and its SQLite and PostgreSQL stores."""
