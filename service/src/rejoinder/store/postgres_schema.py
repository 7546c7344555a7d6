"""The PostgreSQL schema as ordered migrations, tracked in the one-row table `rejoinder_schema`.

Migration N (1-based) brings the database from version N-1 to N. Never edit a released migration;
append a new one. Replicas may start together: the migrations run under a transaction-scoped advisory
lock, so each is applied once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from asyncpg import Connection, Record
    from asyncpg.pool import PoolConnectionProxy

    Conn: TypeAlias = Connection[Record] | PoolConnectionProxy[Record]
    """A connection, or one lent by a pool."""

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: responses (each of one tenant), the input items they were given; background runs: who runs
    # each (a heartbeat per runner), cancel requests, and their event streams (one row per event);
    # conversations (each of one tenant, metadata as JSON bytes) and their items.
    (
        """
        CREATE TABLE responses (
            id TEXT PRIMARY KEY,
            previous_response_id TEXT,
            created_at BIGINT NOT NULL,
            status TEXT NOT NULL,
            body BYTEA NOT NULL,
            tenant TEXT NOT NULL DEFAULT '',
            owner TEXT,
            heartbeat_at BIGINT,
            cancel_requested BOOLEAN NOT NULL DEFAULT false
        )
        """,
        """
        CREATE TABLE input_items (
            response_id TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            item_id TEXT NOT NULL,
            body BYTEA NOT NULL,
            PRIMARY KEY (response_id, position)
        )
        """,
        """
        CREATE TABLE response_events (
            response_id TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
            sequence_number INTEGER NOT NULL,
            body BYTEA NOT NULL,
            PRIMARY KEY (response_id, sequence_number)
        )
        """,
        "CREATE INDEX responses_previous_response_id ON responses (previous_response_id)",
        """
        CREATE INDEX responses_unfinished ON responses (created_at)
        WHERE status IN ('queued', 'in_progress')
        """,
        "CREATE INDEX input_items_item_id ON input_items (response_id, item_id)",
        """
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            metadata BYTEA NOT NULL
        )
        """,
        """
        CREATE TABLE conversation_items (
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            item_id TEXT NOT NULL,
            body BYTEA NOT NULL,
            PRIMARY KEY (conversation_id, position)
        )
        """,
        "CREATE INDEX conversation_items_item_id ON conversation_items (conversation_id, item_id)",
    ),
    # 2: rate limits shared by the replicas (rejoinder/ratelimit/postgres.py). Per tenant, one row with
    # its two sliding windows (requests, tokens), each as parallel arrays of one-second bucket keys and
    # counts, oldest first, and their total (rejoinder/ratelimit/window.py); per tenant and replica, the
    # requests in flight, which stop counting at `expires_at` unless the replica renews them. UNLOGGED:
    # no WAL, so no commit waits for a disk; after a database crash the counts start from zero.
    (
        """
        CREATE UNLOGGED TABLE ratelimit_windows (
            tenant TEXT PRIMARY KEY,
            request_keys BIGINT[] NOT NULL DEFAULT '{}',
            request_counts BIGINT[] NOT NULL DEFAULT '{}',
            request_total BIGINT NOT NULL DEFAULT 0,
            token_keys BIGINT[] NOT NULL DEFAULT '{}',
            token_counts BIGINT[] NOT NULL DEFAULT '{}',
            token_total BIGINT NOT NULL DEFAULT 0
        )
        """,
        """
        CREATE UNLOGGED TABLE ratelimit_in_flight (
            tenant TEXT NOT NULL,
            replica TEXT NOT NULL,
            in_flight INTEGER NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (tenant, replica)
        )
        """,
        "CREATE INDEX ratelimit_in_flight_replica ON ratelimit_in_flight (replica)",
        # A window without its buckets at or before `p_horizon` (O(1) amortized: only those are
        # visited), plus `p_amount` in bucket `p_key`.
        """
        CREATE FUNCTION rejoinder_ratelimit_window(
            p_keys BIGINT[], p_counts BIGINT[], p_total BIGINT, p_horizon DOUBLE PRECISION,
            p_key BIGINT, p_amount BIGINT, OUT keys BIGINT[], OUT counts BIGINT[], OUT total BIGINT
        ) LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE
            first INTEGER := 1;
            n INTEGER := coalesce(array_length(p_keys, 1), 0);
            i INTEGER;
        BEGIN
            keys := p_keys;
            counts := p_counts;
            total := p_total;
            WHILE first <= n AND p_keys[first] <= p_horizon LOOP
                total := total - p_counts[first];
                first := first + 1;
            END LOOP;
            IF first > 1 THEN
                keys := p_keys[first:n];
                counts := p_counts[first:n];
                n := n - first + 1;
            END IF;
            IF p_amount <= 0 OR p_key <= p_horizon THEN
                RETURN;
            END IF;
            total := total + p_amount;
            IF n > 0 AND keys[n] = p_key THEN
                counts[n] := counts[n] + p_amount;
            ELSIF n = 0 OR keys[n] < p_key THEN
                keys := keys || p_key;
                counts := counts || p_amount;
            ELSE
                i := n;  -- an earlier bucket (another replica's clock is ahead): keep the keys in order
                WHILE i > 1 AND keys[i - 1] >= p_key LOOP
                    i := i - 1;
                END LOOP;
                IF keys[i] = p_key THEN
                    counts[i] := counts[i] + p_amount;
                ELSE
                    keys := keys[1:i - 1] || p_key || keys[i:n];
                    counts := counts[1:i - 1] || p_amount || counts[i:n];
                END IF;
            END IF;
        END
        $$
        """,
        # One admission, atomically: the tenant's row lock orders its admissions, so each one sees
        # what the one before it committed. Returns the windows and the count in flight after the
        # admission, or before it with `refused` set (and then nothing is written). A window of a limit
        # the tenant does not have (NULL) is neither read nor written.
        """
        CREATE FUNCTION rejoinder_ratelimit_admit(
            p_tenant TEXT, p_replica TEXT, p_now DOUBLE PRECISION, p_window INTEGER,
            p_lease DOUBLE PRECISION, p_rpm BIGINT, p_tpm BIGINT, p_concurrent BIGINT,
            OUT refused TEXT, OUT request_keys BIGINT[], OUT request_counts BIGINT[],
            OUT token_keys BIGINT[], OUT token_counts BIGINT[], OUT in_flight BIGINT
        ) LANGUAGE plpgsql AS $$
        #variable_conflict use_variable
        DECLARE
            horizon DOUBLE PRECISION := p_now - p_window;
            requests BIGINT;
            tokens BIGINT;
        BEGIN
            LOOP
                SELECT w.request_keys, w.request_counts, w.request_total,
                       w.token_keys, w.token_counts, w.token_total
                    INTO request_keys, request_counts, requests, token_keys, token_counts, tokens
                    FROM ratelimit_windows AS w WHERE w.tenant = p_tenant FOR UPDATE;
                EXIT WHEN FOUND;
                INSERT INTO ratelimit_windows (tenant) VALUES (p_tenant) ON CONFLICT DO NOTHING;
            END LOOP;
            IF p_rpm IS NOT NULL THEN
                SELECT x.keys, x.counts, x.total INTO request_keys, request_counts, requests
                    FROM rejoinder_ratelimit_window(
                        request_keys, request_counts, requests, horizon, 0, 0) AS x;
            END IF;
            IF p_tpm IS NOT NULL THEN
                SELECT x.keys, x.counts, x.total INTO token_keys, token_counts, tokens
                    FROM rejoinder_ratelimit_window(token_keys, token_counts, tokens, horizon, 0, 0) AS x;
            END IF;
            in_flight := 0;
            IF p_concurrent IS NOT NULL THEN
                SELECT coalesce(sum(f.in_flight), 0) INTO in_flight FROM ratelimit_in_flight AS f
                    WHERE f.tenant = p_tenant AND f.expires_at > p_now;
            END IF;
            IF requests >= p_rpm THEN
                refused := 'requests';
            ELSIF tokens >= p_tpm THEN
                refused := 'tokens';
            ELSIF in_flight >= p_concurrent THEN
                refused := 'concurrent';
            END IF;
            IF refused IS NOT NULL THEN
                RETURN;
            END IF;
            IF p_rpm IS NOT NULL THEN
                SELECT x.keys, x.counts, x.total INTO request_keys, request_counts, requests
                    FROM rejoinder_ratelimit_window(
                        request_keys, request_counts, requests, horizon, ceil(p_now)::BIGINT, 1) AS x;
                UPDATE ratelimit_windows AS w
                    SET request_keys = request_keys, request_counts = request_counts, request_total = requests
                    WHERE w.tenant = p_tenant;
            END IF;
            IF p_concurrent IS NOT NULL THEN
                INSERT INTO ratelimit_in_flight AS f (tenant, replica, in_flight, expires_at)
                    VALUES (p_tenant, p_replica, 1, p_now + p_lease)
                    ON CONFLICT ON CONSTRAINT ratelimit_in_flight_pkey DO UPDATE
                    SET in_flight = f.in_flight + 1, expires_at = greatest(f.expires_at, p_now + p_lease);
                in_flight := in_flight + 1;
            END IF;
        END
        $$
        """,
        # What a replica's finished responses did, in one call: tokens to charge (tenant, bucket, tokens;
        # tenants in order, so two replicas' calls never wait on each other in a cycle) and the slots
        # of this replica to release (tenant, count).
        """
        CREATE FUNCTION rejoinder_ratelimit_finish(
            p_replica TEXT, p_now DOUBLE PRECISION, p_window INTEGER,
            p_tenants TEXT[], p_keys BIGINT[], p_tokens BIGINT[],
            p_release_tenants TEXT[], p_release_counts INTEGER[]
        ) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            charge RECORD;
        BEGIN
            FOR charge IN
                SELECT t.tenant, t.key, t.tokens
                FROM unnest(p_tenants, p_keys, p_tokens) AS t (tenant, key, tokens)
                ORDER BY t.tenant, t.key
            LOOP
                UPDATE ratelimit_windows AS w SET (token_keys, token_counts, token_total) = (
                    SELECT x.keys, x.counts, x.total FROM rejoinder_ratelimit_window(
                        w.token_keys, w.token_counts, w.token_total,
                        p_now - p_window, charge.key, charge.tokens
                    ) AS x
                ) WHERE w.tenant = charge.tenant;
            END LOOP;
            UPDATE ratelimit_in_flight AS f SET in_flight = greatest(f.in_flight - r.n, 0)
                FROM unnest(p_release_tenants, p_release_counts) AS r (tenant, n)
                WHERE f.tenant = r.tenant AND f.replica = p_replica;
        END
        $$
        """,
    ),
    # 4: files (each of one tenant; their bytes in `file_parts`) and vector stores, the files in them
    # and the batches that added files. A vector store belongs to one tenant; its files and batches to
    # it. `vector_store_files.owner`/`heartbeat_at` say which replica ingests a file, so
    # a file whose runner died can be taken over (as with background responses).
    (
        """
        CREATE TABLE files (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            filename TEXT NOT NULL,
            purpose TEXT NOT NULL,
            bytes BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT,
            sha256 TEXT NOT NULL
        )
        """,
        "CREATE INDEX files_tenant_created_at ON files(tenant, created_at, id)",
        "CREATE INDEX files_sha256 ON files(sha256)",
        "CREATE INDEX files_expires_at ON files(expires_at) WHERE expires_at IS NOT NULL",
        """
        CREATE TABLE vector_stores (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            name TEXT NOT NULL,
            description TEXT,
            metadata BYTEA NOT NULL,
            status TEXT NOT NULL,
            usage_bytes BIGINT NOT NULL DEFAULT 0,
            expires_after_days INTEGER,
            expires_at BIGINT,
            last_active_at BIGINT
        )
        """,
        "CREATE INDEX vector_stores_tenant_created_at ON vector_stores(tenant, created_at, id)",
        """
        CREATE TABLE vector_store_file_batches (
            id TEXT PRIMARY KEY,
            vector_store_id TEXT NOT NULL REFERENCES vector_stores(id) ON DELETE CASCADE,
            created_at BIGINT NOT NULL,
            status TEXT NOT NULL
        )
        """,
        "CREATE INDEX vector_store_file_batches_store ON vector_store_file_batches(vector_store_id)",
        """
        CREATE TABLE vector_store_files (
            vector_store_id TEXT NOT NULL REFERENCES vector_stores(id) ON DELETE CASCADE,
            file_id TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            status TEXT NOT NULL,
            usage_bytes BIGINT NOT NULL DEFAULT 0,
            last_error_code TEXT,
            last_error_message TEXT,
            chunking_strategy BYTEA NOT NULL,
            attributes BYTEA,
            batch_id TEXT,
            owner TEXT,
            heartbeat_at BIGINT,
            PRIMARY KEY (vector_store_id, file_id)
        )
        """,
        "CREATE INDEX vector_store_files_created_at "
        "ON vector_store_files(vector_store_id, created_at, file_id)",
        "CREATE INDEX vector_store_files_status ON vector_store_files(status)",
        "CREATE INDEX vector_store_files_batch ON vector_store_files(batch_id)",
        "CREATE INDEX vector_store_files_file ON vector_store_files(file_id)",
        # The bytes of files, in parts of about 1 MiB, where every replica reads them.
        """
        CREATE TABLE file_parts (
            file_id TEXT NOT NULL,
            part INTEGER NOT NULL,
            data BYTEA NOT NULL,
            PRIMARY KEY (file_id, part)
        )
        """,
    ),
    # 5: ingestion of vector store files (core/vector_stores/ingestion.py): how many times it started
    # for each file (a file whose replica keeps dying ends `failed`), and the chunk texts it made (the
    # file's `/content`); `seq` keeps the order stores and files were added in (pages by it).
    (
        "ALTER TABLE vector_store_files ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE vector_store_files ADD COLUMN content BYTEA",
        "ALTER TABLE vector_store_files ADD COLUMN seq BIGINT GENERATED BY DEFAULT AS IDENTITY",
        "ALTER TABLE vector_stores ADD COLUMN seq BIGINT GENERATED BY DEFAULT AS IDENTITY",
        "CREATE INDEX vector_store_files_owner ON vector_store_files(owner)",
        """
        CREATE INDEX vector_store_files_pending ON vector_store_files(created_at)
        WHERE status = 'in_progress'
        """,
    ),
    # 6: prompt templates (core/prompts/), each of one tenant, and their versions. `latest_version` is
    # what an update must name (a stale update changes no row); `default_version` what a create request
    # without `prompt.version` uses; `seq` the order they were created in (pages by it).
    (
        """
        CREATE TABLE prompts (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            latest_version BIGINT NOT NULL,
            default_version BIGINT NOT NULL,
            seq BIGINT GENERATED BY DEFAULT AS IDENTITY
        )
        """,
        "CREATE INDEX prompts_tenant_seq ON prompts(tenant, seq)",
        """
        CREATE TABLE prompt_versions (
            prompt_id TEXT NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
            version BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            prompt TEXT NOT NULL,
            variables TEXT NOT NULL,
            PRIMARY KEY (prompt_id, version)
        )
        """,
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
_LOCK_KEY = 0x72656A6F  # "rejo": the advisory lock that serializes migrations


async def migrate(conn: Conn) -> None:
    """Apply the pending migrations in one transaction."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute("CREATE TABLE IF NOT EXISTS rejoinder_schema (version INTEGER NOT NULL)")
        version = await conn.fetchval("SELECT version FROM rejoinder_schema")
        if version is None:
            await conn.execute("INSERT INTO rejoinder_schema (version) VALUES (0)")
            version = 0
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"database schema {version} is newer than this build ({SCHEMA_VERSION})")
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                await conn.execute(statement)
        await conn.execute("UPDATE rejoinder_schema SET version = $1", SCHEMA_VERSION)
