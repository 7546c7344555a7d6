"""What each upstream lists as its models (`GET {base_url}/models`), kept in memory and refreshed in the
background, so that `GET /v1/models` never waits on an upstream.

Every provider's list is fetched once at start-up (the start waits at most `START_WAIT_S` for it; a slower
upstream fills its list in when it answers) and again every `refresh_s` seconds. A fetch that fails or
takes longer than `FETCH_TIMEOUT_S` keeps the provider's last known list (none, before its first
success): the failure is logged once, when a streak of failures begins, and the recovery once, when it
ends. The cadence follows an injected clock, so tests drive it with `refresh()` and a fake clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping

import orjson

from rejoinder.providers.base import Provider, UpstreamError, UpstreamModel

log = logging.getLogger(__name__)

START_WAIT_S = 2.0
FETCH_TIMEOUT_S = 10.0
MIN_REFRESH_S = 1.0  # the shortest pause between two rounds, whatever `refresh_s` says


class ModelCatalog:
    """The last known model list of each provider; see the module docstring."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        *,
        refresh_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        fetch_timeout_s: float = FETCH_TIMEOUT_S,
    ) -> None:
        self._providers = dict(providers)
        self._refresh_s = max(refresh_s, MIN_REFRESH_S)
        self._clock = clock
        self._fetch_timeout_s = fetch_timeout_s
        self._known: dict[str, dict[str, UpstreamModel]] = {}
        self._due: dict[str, float] = {}
        self._failing: set[str] = set()
        self._first_round = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def known(self, provider: str) -> list[UpstreamModel]:
        """The provider's last known list, in its upstream's order (empty before its first success)."""
        return list(self._known.get(provider, {}).values())

    def lookup(self, provider: str, model: str) -> UpstreamModel | None:
        """`model` as the provider's last known list has it, if it does."""
        return self._known.get(provider, {}).get(model)

    async def refresh(self) -> None:
        """Fetch, side by side, every list whose time has come by the clock (all of them at first).
        Never raises: a failure keeps the last known list."""
        now = self._clock()
        due = [name for name in self._providers if self._due.get(name, now) <= now]
        for name in due:
            self._due[name] = now + self._refresh_s
        await asyncio.gather(*(self._fetch(name) for name in due))

    async def start(self, wait_s: float = START_WAIT_S) -> None:
        """Start refreshing in the background; return after the first round, or after `wait_s`."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="rejoinder-model-catalog")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_round.wait(), wait_s)

    async def aclose(self) -> None:
        """Stop refreshing."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await self.refresh()
            self._first_round.set()
            next_due = min(self._due.values(), default=self._clock() + self._refresh_s)
            await asyncio.sleep(max(next_due - self._clock(), MIN_REFRESH_S))

    async def _fetch(self, name: str) -> None:
        try:
            async with asyncio.timeout(self._fetch_timeout_s):
                listed = await self._providers[name].models()
        except Exception as exc:  # whatever it was, the last known list stays and the refresh goes on
            self._failed(name, exc)
            return
        known: dict[str, UpstreamModel] = {}
        for model in listed:
            known.setdefault(model.id, model)  # an id listed twice: the first one
        self._known[name] = known
        if name in self._failing:
            self._failing.discard(name)
            log.info("provider %r: its model list is back (%d models)", name, len(self._known[name]))

    def _failed(self, name: str, exc: Exception) -> None:
        if name in self._failing:
            return
        self._failing.add(name)
        if isinstance(exc, TimeoutError):
            reason = f"no answer within {self._fetch_timeout_s:g} s"
        elif isinstance(exc, UpstreamError):
            reason = exc.message
        else:
            reason = f"{type(exc).__name__}: {exc}"
        log.warning(
            "provider %r: cannot fetch its model list (%s); keeping the last known one (%d models), "
            "retrying every %g s (logged again only once it recovers)",
            name,
            reason,
            len(self._known.get(name, {})),
            self._refresh_s,
        )


def decode_model_list(raw: bytes) -> list[UpstreamModel]:
    """The models of OpenAI's list shape, `{"object": "list", "data": [{"id", "created", "owned_by"}]}`.

    Entries without a string `id` are skipped; `created` and `owned_by` are kept when they have the
    right type, and so is vLLM's `max_model_len` (the context window). Raises `UpstreamError` when
    the body is not JSON with a `data` array.
    """
    try:
        parsed: object = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError("protocol", f"upstream sent a model list that is not JSON: {exc}") from exc
    data = parsed.get("data") if isinstance(parsed, dict) else None
    if not isinstance(data, list):
        raise UpstreamError("protocol", 'upstream sent a model list without a "data" array')
    return [model for entry in data if (model := _upstream_model(entry)) is not None]


def _upstream_model(entry: object) -> UpstreamModel | None:
    if not isinstance(entry, dict):
        return None
    model_id, created, owned_by = entry.get("id"), entry.get("created"), entry.get("owned_by")
    if not isinstance(model_id, str) or not model_id:
        return None
    if isinstance(created, bool) or not isinstance(created, int) or not 0 <= created < 2**63:
        created = None  # not a time in seconds that an int64 holds
    window = entry.get("max_model_len")  # vLLM lists each model's context window so
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        window = None
    owner = owned_by if isinstance(owned_by, str) and owned_by else None
    return UpstreamModel(model_id, created, owner, context_window=window)
