"""A throwaway PostgreSQL server for the tests: its own data directory, 127.0.0.1 on a free port.

Uses the server programs of the machine's PostgreSQL (Debian's `postgresql` package puts them in
/usr/lib/postgresql/<version>/bin; `make setup` installs it when missing). As root, the server runs as
the `postgres` user, since PostgreSQL refuses to run as root. `REJOINDER_TEST_POSTGRES_DSN` points
the tests at a server of your own instead (a role that may create databases).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from rejoinder.edge.ports import free_port

DSN_ENV = "REJOINDER_TEST_POSTGRES_DSN"
ROLE = "rejoinder"


def server_bin() -> Path:
    """The directory of `initdb`, `pg_ctl` and `postgres`; raises with what to install when none."""
    found = shutil.which("pg_ctl")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for directory in candidates:
        if all((directory / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return directory
    raise RuntimeError(
        f"no PostgreSQL server programs found: install them (apt-get install postgresql), "
        f"or set {DSN_ENV} to a server the tests may create databases on"
    )


class PostgresServer:
    """`start()` returns an admin DSN; `stop()` stops the server and removes its data."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._bin = server_bin()
        self._as_postgres = os.geteuid() == 0
        self._options = ""

    def _run(self, *args: str) -> None:
        cmd = [str(self._bin / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def start(self) -> str:
        self._dir = Path(tempfile.mkdtemp(prefix="rejoinder-pg-"))
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self._dir, user.pw_uid, user.pw_gid)
        data = self._dir / "data"
        port = free_port("127.0.0.1")
        self._run("initdb", "-D", str(data), "-U", ROLE, "-A", "trust", "-E", "UTF8", "--no-sync")
        self._options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {self._dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self.resume()
        return f"postgresql://{ROLE}@127.0.0.1:{port}/postgres"

    def halt(self) -> None:
        """Stop the server, keeping its data and port (`resume` starts it again): a database gone away."""
        assert self._dir is not None
        self._run("pg_ctl", "-D", str(self._dir / "data"), "-m", "immediate", "-w", "stop")

    def resume(self) -> None:
        """Start the server (again) on its data and port."""
        assert self._dir is not None
        data, log = self._dir / "data", self._dir / "server.log"
        self._run("pg_ctl", "-D", str(data), "-l", str(log), "-w", "-o", self._options, "start")

    def pin(self, cpus: frozenset[int]) -> None:
        """Run the server (and the backends it forks from now on) on these cores."""
        assert self._dir is not None
        postmaster = int((self._dir / "data" / "postmaster.pid").read_text().split()[0])
        os.sched_setaffinity(postmaster, cpus)

    def stop(self) -> None:
        if self._dir is None:
            return
        try:
            self._run("pg_ctl", "-D", str(self._dir / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


async def create_database(admin_dsn: str) -> str:
    """A new, empty database on the server; returns its DSN."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return urlunsplit(urlsplit(admin_dsn)._replace(path=f"/{name}"))


async def drop_database(admin_dsn: str, dsn: str) -> None:
    """Drop a database `create_database` made, even with connections still open."""
    name = urlsplit(dsn).path.lstrip("/")
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()
