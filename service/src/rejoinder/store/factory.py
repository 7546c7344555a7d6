"""The store a server is configured with: SQLite in the data directory, or PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from rejoinder.store.base import Store
from rejoinder.store.files.base import FileStore
from rejoinder.store.files.blob_dir import BlobDir
from rejoinder.store.files.postgres import PostgresFileStore
from rejoinder.store.files.sqlite import SqliteFileStore
from rejoinder.store.postgres import PostgresStore
from rejoinder.store.prompts.base import PromptStore
from rejoinder.store.prompts.postgres import PostgresPromptStore
from rejoinder.store.prompts.sqlite import SqlitePromptStore
from rejoinder.store.sqlite import SqliteStore

POSTGRES_SCHEMES = ("postgresql", "postgres")


def describe(store_url: str | None, data_dir: Path) -> str:
    """Where responses are kept, for the start-up announcement (never the password)."""
    if store_url is None:
        return f"SQLite {(data_dir / 'rejoinder.db').resolve()}"
    url = urlsplit(store_url)
    return f"PostgreSQL {url.hostname or 'localhost'}:{url.port or 5432}{url.path}"


async def open_store(store_url: str | None, data_dir: Path) -> Store:
    """Open the configured store; ValueError for a URL that names no store this server has."""
    if store_url is None:
        return await SqliteStore.open(data_dir / "rejoinder.db")
    if urlsplit(store_url).scheme not in POSTGRES_SCHEMES:
        raise ValueError(f"store URL {store_url.split(':', 1)[0]!r}: expected postgresql://user@host:port/db")
    return await PostgresStore.open(store_url)


def file_store_for(store: Store, data_dir: Path) -> FileStore:
    """The files beside a store: with SQLite, the bytes in `files/` beside its database file
    (content-addressed); with PostgreSQL, in the database. TypeError for a store that keeps no files."""
    if isinstance(store, SqliteStore):
        root = store.path.parent / "files" if store.path is not None else data_dir / "files"
        return SqliteFileStore(store, BlobDir(root))
    if isinstance(store, PostgresStore):
        return PostgresFileStore(store.pool)
    raise TypeError(f"{type(store).__name__} keeps no files")


def prompt_store_for(store: Store) -> PromptStore:
    """The prompt templates beside a store, in its database. TypeError for a store that keeps none."""
    if isinstance(store, SqliteStore):
        return SqlitePromptStore(store)
    if isinstance(store, PostgresStore):
        return PostgresPromptStore(store.pool)
    raise TypeError(f"{type(store).__name__} keeps no prompt templates")
