"""The SQL of vector stores' metadata (`sql.py` runs it): one statement a constant, with the column
lists and the tenant check that several of them share.

Statements are written for PostgreSQL, with `$n` markers and `::type` casts (for SQLite, `db.py` swaps
in `?n` and drops the casts). `CLAIM` leaves `{lock}` for the runner to fill: `FOR UPDATE SKIP LOCKED`
on PostgreSQL, so two replicas never claim the same file, and nothing on SQLite, whose write lock
orders the claims of every process on the file.
"""

from __future__ import annotations

_COUNTS = ", ".join(
    f"CAST(COALESCE(SUM(CASE WHEN f.status = '{s}' THEN 1 ELSE 0 END), 0) AS BIGINT)"
    for s in ("in_progress", "completed", "failed", "cancelled")
)
_STORE_COLUMNS = (
    "s.id, s.created_at, s.name, s.metadata, s.expires_after_days, COALESCE(s.last_active_at, s.created_at), "
    f"CAST(COALESCE(SUM(f.usage_bytes), 0) AS BIGINT), {_COUNTS}"
)
STORES = (
    f"SELECT {_STORE_COLUMNS} FROM vector_stores s "
    "LEFT JOIN vector_store_files f ON f.vector_store_id = s.id WHERE s.tenant = $1"
)
_FILE_COLUMNS = (
    "f.vector_store_id, f.file_id, f.created_at, f.status, f.usage_bytes, f.last_error_code, "
    "f.last_error_message, f.chunking_strategy, f.attributes, f.batch_id"
)
FILES = (
    f"SELECT {_FILE_COLUMNS} FROM vector_store_files f JOIN vector_stores s ON s.id = f.vector_store_id "
    "WHERE s.tenant = $1 AND f.vector_store_id = $2"
)
INSERT_STORE = """
INSERT INTO vector_stores (id, tenant, created_at, name, description, metadata, status, usage_bytes,
    expires_after_days, last_active_at)
VALUES ($1, $2, $3, $4, $5, $6, 'completed', 0, $7, $8)
"""
UPSERT_FILE = """
INSERT INTO vector_store_files (vector_store_id, file_id, created_at, status, usage_bytes, chunking_strategy,
    attributes, batch_id, attempts)
SELECT $1::text, $2::text, $3::bigint, 'in_progress', 0, $4::bytea, $5::bytea, $6::text, 0
WHERE EXISTS (SELECT 1 FROM vector_stores WHERE id = $1 AND tenant = $7)
ON CONFLICT (vector_store_id, file_id) DO UPDATE SET created_at = excluded.created_at, status = 'in_progress',
    usage_bytes = 0, last_error_code = NULL, last_error_message = NULL,
    chunking_strategy = excluded.chunking_strategy, attributes = excluded.attributes,
    batch_id = excluded.batch_id, owner = NULL, heartbeat_at = NULL, attempts = 0, content = NULL
"""
INSERT_BATCH = """
INSERT INTO vector_store_file_batches (id, vector_store_id, created_at, status)
SELECT $1::text, $2::text, $3::bigint, 'in_progress'
WHERE EXISTS (SELECT 1 FROM vector_stores WHERE id = $2 AND tenant = $4)
"""
TOUCH = "UPDATE vector_stores SET last_active_at = $3 WHERE id = $1 AND tenant = $2 RETURNING id"
UPDATE_STORE = """
UPDATE vector_stores SET name = COALESCE($3, name), metadata = COALESCE($4, metadata),
    expires_after_days = CASE WHEN $5 < 0 THEN expires_after_days WHEN $5 = 0 THEN NULL ELSE $5 END,
    last_active_at = $6
WHERE id = $1 AND tenant = $2 RETURNING id
"""
DELETE_STORE = "DELETE FROM vector_stores WHERE id = $1 AND tenant = $2 RETURNING id"
_OWNED = "vector_store_id IN (SELECT id FROM vector_stores WHERE tenant = $3)"
UPDATE_ATTRIBUTES = (
    f"UPDATE vector_store_files SET attributes = $4 WHERE vector_store_id = $1 AND file_id = $2 AND {_OWNED} "
    "RETURNING file_id"
)
DELETE_FILE = (
    f"DELETE FROM vector_store_files WHERE vector_store_id = $1 AND file_id = $2 AND {_OWNED} "
    "RETURNING file_id"
)
CONTENT = f"SELECT content FROM vector_store_files WHERE vector_store_id = $1 AND file_id = $2 AND {_OWNED}"
BATCH = f"""
SELECT b.id, b.vector_store_id, b.created_at, b.status, {_COUNTS}
FROM vector_store_file_batches b JOIN vector_stores s ON s.id = b.vector_store_id
LEFT JOIN vector_store_files f ON f.batch_id = b.id AND f.vector_store_id = b.vector_store_id
WHERE b.vector_store_id = $1 AND b.id = $2 AND s.tenant = $3 GROUP BY b.id, b.vector_store_id, b.created_at,
    b.status
"""
CANCEL_BATCH = f"""
UPDATE vector_store_file_batches SET status = 'cancelled' WHERE vector_store_id = $1 AND id = $2 AND {_OWNED}
AND EXISTS (SELECT 1 FROM vector_store_files WHERE batch_id = $2 AND vector_store_id = $1
    AND status = 'in_progress')
"""
CANCEL_BATCH_FILES = f"""
UPDATE vector_store_files SET status = 'cancelled', owner = NULL, heartbeat_at = NULL
WHERE vector_store_id = $1 AND batch_id = $2 AND status = 'in_progress' AND {_OWNED}
"""
CLAIM = """
UPDATE vector_store_files SET owner = $1, heartbeat_at = $2, attempts = attempts + 1
WHERE (vector_store_id, file_id) IN (
    SELECT vector_store_id, file_id FROM vector_store_files
    WHERE status = 'in_progress' AND (owner IS NULL OR (heartbeat_at < $3 AND owner <> $1))
    ORDER BY created_at LIMIT $4 {lock}
)
RETURNING (SELECT s.tenant FROM vector_stores s WHERE s.id = vector_store_files.vector_store_id),
    vector_store_id, file_id, chunking_strategy, attributes, attempts
"""
CLAIMABLE = """
SELECT 1 FROM vector_store_files
WHERE status = 'in_progress' AND (owner IS NULL OR (heartbeat_at < $2 AND owner <> $1)) LIMIT 1
"""
HEARTBEAT = """
UPDATE vector_store_files SET heartbeat_at = $2 WHERE owner = $1 AND status = 'in_progress'
RETURNING vector_store_id, file_id
"""
FINISH = """
UPDATE vector_store_files SET status = $4, usage_bytes = $5, last_error_code = $6, last_error_message = $7,
    content = $8, owner = NULL, heartbeat_at = NULL
WHERE vector_store_id = $2 AND file_id = $3 AND owner = $1 AND status = 'in_progress' RETURNING file_id
"""
RELEASE = """
UPDATE vector_store_files SET owner = NULL, heartbeat_at = NULL,
    attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END
WHERE owner = $1 AND status = 'in_progress' RETURNING file_id
"""
