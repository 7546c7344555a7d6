"""The vector index's PostgreSQL tables as ordered migrations, versioned in a table of their own
(`vector_index_schema`), apart from the store's `rejoinder_schema`, under an advisory lock of their own.

Needs pgvector on the server (`CREATE EXTENSION vector`: by a superuser, unless an administrator created
it in the database beforehand). Migration N (1-based) brings the tables from version N-1 to N. Never
edit a released migration; append.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg

if TYPE_CHECKING:
    from rejoinder.store.postgres_schema import Conn

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: files in vector stores (attributes as JSONB), their chunks (text, position, one pgvector
    # `vector` of any dimension, the model that made it, the english tsvector of the text).
    (
        # english stemming (snowball, as FTS5's porter on SQLite) without dropping stop words, as FTS5
        # keeps them too: both stores' keyword halves then see the same words
        "CREATE TEXT SEARCH DICTIONARY rejoinder_english_stem (TEMPLATE = snowball, LANGUAGE = english)",
        "CREATE TEXT SEARCH CONFIGURATION rejoinder_english (COPY = english)",
        """
        ALTER TEXT SEARCH CONFIGURATION rejoinder_english
        ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
        WITH rejoinder_english_stem
        """,
        """
        CREATE TABLE vector_index_files (
            tenant TEXT NOT NULL,
            vector_store_id TEXT NOT NULL,
            file_id TEXT NOT NULL,
            filename TEXT NOT NULL,
            attributes JSONB NOT NULL,
            PRIMARY KEY (tenant, vector_store_id, file_id)
        )
        """,
        """
        CREATE TABLE vector_index_chunks (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            tenant TEXT NOT NULL,
            vector_store_id TEXT NOT NULL,
            file_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            model TEXT NOT NULL,
            text TEXT NOT NULL,
            embedding vector NOT NULL,
            tsv tsvector GENERATED ALWAYS AS (to_tsvector('rejoinder_english', text)) STORED,
            FOREIGN KEY (tenant, vector_store_id, file_id) REFERENCES vector_index_files ON DELETE CASCADE
        )
        """,
        "CREATE INDEX vector_index_chunks_model ON vector_index_chunks (tenant, vector_store_id, model)",
        "CREATE INDEX vector_index_chunks_file ON vector_index_chunks (tenant, vector_store_id, file_id)",
        "CREATE INDEX vector_index_chunks_tsv ON vector_index_chunks USING gin (tsv)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
_LOCK_KEY = 0x72657663  # "revc": the advisory lock that serializes these migrations


class PgvectorMissing(RuntimeError):
    """The server cannot give this database pgvector's `vector` type."""


async def ensure_extension(conn: Conn) -> None:
    """`CREATE EXTENSION IF NOT EXISTS vector`, or a clear error saying what the server lacks."""
    if await conn.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'vector'"):
        return
    if not await conn.fetchval("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"):
        raise PgvectorMissing(
            "pgvector is not installed on the PostgreSQL server (no 'vector' extension available): "
            "install it for the server's major version (Debian: postgresql-N-pgvector; on bookworm, "
            "which has none, `make pgvector` builds it from Debian's source package)"
        )
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except asyncpg.InsufficientPrivilegeError as exc:
        raise PgvectorMissing(
            "the 'vector' extension is installed on the server but not created in this database, "
            "and this role may not create it: run `CREATE EXTENSION vector` as a superuser"
        ) from exc


async def migrate(conn: Conn) -> None:
    """The extension, then the pending migrations, in one transaction."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await ensure_extension(conn)
        await conn.execute("CREATE TABLE IF NOT EXISTS vector_index_schema (version INTEGER NOT NULL)")
        version = await conn.fetchval("SELECT version FROM vector_index_schema")
        if version is None:
            await conn.execute("INSERT INTO vector_index_schema (version) VALUES (0)")
            version = 0
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"vector index schema {version} is newer than this build ({SCHEMA_VERSION})")
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                await conn.execute(statement)
        await conn.execute("UPDATE vector_index_schema SET version = $1", SCHEMA_VERSION)
