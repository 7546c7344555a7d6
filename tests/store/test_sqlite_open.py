"""Opening a brand-new SQLite file while another process is writing it (the workers of `serve --workers N`,
a rate limiter beside a store): SQLite answers `PRAGMA journal_mode = WAL` with "database is locked" at
once, without its busy timeout, while another connection holds a write lock on the file; the store's
`connect` waits for the lock within the busy timeout instead of failing."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from rejoinder.store.sqlite_ops import connect

HOLD_S = 0.3


def _writer_holding_the_file(path: Path) -> tuple[sqlite3.Connection, threading.Thread]:
    """Another connection, in rollback-journal mode (as a file starts), inside a write transaction that
    it commits after `HOLD_S`."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE first_writer (x)")
    other.execute("BEGIN IMMEDIATE")

    def commit_later() -> None:
        time.sleep(HOLD_S)
        other.execute("COMMIT")

    return other, threading.Thread(target=commit_later)


def test_a_file_another_connection_is_writing_is_opened_once_it_commits(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    other, commit = _writer_holding_the_file(path)
    commit.start()
    started = time.monotonic()
    try:
        conn = connect(str(path), 5.0)
    finally:
        commit.join()
        other.close()
    took = time.monotonic() - started

    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert took >= HOLD_S * 0.8  # it waited for the writer instead of failing
    conn.close()


def test_a_lock_held_past_the_busy_timeout_is_still_an_error(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    other, commit = _writer_holding_the_file(path)
    commit.start()
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            connect(str(path), HOLD_S / 3)
    finally:
        commit.join()
        other.close()
