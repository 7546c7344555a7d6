"""Per-tenant rate limits: requests per minute, tokens per minute and requests in flight.

`base.RateLimiter` is the interface; `memory.MemoryRateLimiter` serves one process,
`postgres.PostgresRateLimiter` every replica that shares a PostgreSQL store, and
`sqlite.SqliteRateLimiter` every worker on one SQLite file; those two write their finished responses
through `finishes.Finishes`.
"""
