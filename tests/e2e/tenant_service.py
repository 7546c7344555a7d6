"""A service of two or more tenants (API keys in its config), on SQLite or on a database of its own in
the tests' PostgreSQL, as the module-scoped fixtures of the e2e suites start it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from pathlib import Path

from rejoinder.api.auth import hash_key
from tests.e2e.service_process import ServiceProcess
from tests.postgres_server import create_database, drop_database
from tests.scripted_upstream import ScriptedUpstream


def tenant_service(
    store: str,
    data: Path,
    upstream: ScriptedUpstream,
    postgres_admin_dsn: str,
    keys: Mapping[str, str],
    extra_toml: str = "",
) -> Iterator[ServiceProcess]:
    """Serve until the generator is closed: `keys` maps each tenant to its API key (the first one's is
    the process's own), `store` is "sqlite" or "postgres", `extra_toml` goes after the tenants."""
    tenants = "".join(f'{tenant} = ["{hash_key(key)}"]\n' for tenant, key in keys.items())
    config = data / "rejoinder.toml"
    config.write_text(
        f'[providers.scripted]\nbase_url = "{upstream.base_url}"\n\n[auth.tenants]\n{tenants}{extra_toml}'
    )
    args = ["--config", str(config)]
    dsn = asyncio.run(create_database(postgres_admin_dsn)) if store == "postgres" else ""
    if dsn:
        args += ["--store", dsn]
    proc = ServiceProcess(data_dir=data, extra_args=args, api_key=next(iter(keys.values()))).start()
    yield proc
    assert proc.stop() == 0, proc.log()
    if dsn:
        asyncio.run(drop_database(postgres_admin_dsn, dsn))
