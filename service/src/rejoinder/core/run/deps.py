"""What the core needs, injected (store, providers, clock, ids, tools, ...): one value that tests build
with the parts they want to drive."""

from __future__ import annotations

from dataclasses import dataclass, field

from rejoinder.config_limits import RequestLimits
from rejoinder.core.clock import Clock
from rejoinder.core.context.files import Fetch
from rejoinder.core.context.sealing import ReasoningSealer
from rejoinder.core.ids import IdGenerator
from rejoinder.core.prompts.resolve import Templates
from rejoinder.fetch import UrlFetcher
from rejoinder.observe.observer import SILENT, Observer
from rejoinder.providers.registry import ProviderRegistry
from rejoinder.ratelimit.base import RateLimiter
from rejoinder.ratelimit.memory import unlimited
from rejoinder.store.base import ConversationStore, ResponseStore
from rejoinder.tools.registry import ToolKinds


@dataclass(frozen=True)
class Deps:
    """Everything the core needs, injected; tests swap any field."""

    store: ResponseStore
    providers: ProviderRegistry
    clock: Clock
    ids: IdGenerator
    tools: ToolKinds = field(default_factory=ToolKinds)
    sealer: ReasoningSealer | None = None
    fetch: Fetch = field(default_factory=UrlFetcher)
    conversations: ConversationStore | None = None
    prompts: Templates | None = None  # prompt templates (`PromptsCore`); None: `prompt` is refused
    limits: RequestLimits = field(default_factory=RequestLimits)
    limiter: RateLimiter = field(default_factory=unlimited)
    observer: Observer = SILENT
