"""The provider contract: a normalized chat request in, a stream of normalized deltas out.

Core speaks only these types. Every upstream quirk (where reasoning arrives, how tool calls are
chunked, where usage is placed, how errors look) is absorbed by the adapter that implements
`Provider`, and what an adapter can do is declared in its `Capabilities`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

Role = Literal["system", "developer", "user", "assistant", "tool"]


@dataclass(frozen=True)
class TextPart:
    """A text part of a chat message."""

    text: str


@dataclass(frozen=True)
class ImagePart:
    """An image part of a chat message (`image_url` in chat completions)."""

    url: str
    detail: str | None = None


ContentPart = TextPart | ImagePart


@dataclass(frozen=True)
class ToolCall:
    """A complete tool call on an assistant message."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ChatMessage:
    """One chat-completions message. `content` is plain text or a tuple of parts."""

    role: Role
    content: str | tuple[ContentPart, ...] | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    reasoning: str | None = None


@dataclass(frozen=True)
class FunctionTool:
    """A function the model may call."""

    name: str
    description: str | None = None
    parameters: Mapping[str, object] | None = None
    strict: bool | None = None


@dataclass(frozen=True)
class NamedToolChoice:
    """Force a call to this function."""

    name: str


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice


@dataclass(frozen=True)
class ChatRequest:
    """A provider-neutral chat completions request.

    `stream` says whether the caller consumes deltas as they come; an adapter may use the upstream's
    non-streaming endpoint when it is false and still yield the same deltas.
    """

    model: str
    messages: tuple[ChatMessage, ...]
    stream: bool = True
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    max_output_tokens: int | None = None
    tools: tuple[FunctionTool, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: Mapping[str, object] | None = None
    logprobs: bool = False
    top_logprobs: int | None = None
    reasoning_effort: str | None = None
    user: str | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    service_tier: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TopLogprob:
    """One alternative token and its log probability."""

    token: str
    logprob: float
    bytes: tuple[int, ...] | None = None


@dataclass(frozen=True)
class TokenLogprob:
    """The log probability of one sampled token, with its alternatives."""

    token: str
    logprob: float
    bytes: tuple[int, ...] | None = None
    top_logprobs: tuple[TopLogprob, ...] = ()


@dataclass(frozen=True)
class TextDelta:
    """A fragment of the assistant's visible text."""

    text: str
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True)
class ReasoningDelta:
    """A fragment of the model's reasoning text."""

    text: str


@dataclass(frozen=True)
class RefusalDelta:
    """A fragment of a refusal."""

    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A fragment of the tool call at `index`. `id` and `name` arrive at least once per call."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True)
class UsageDelta:
    """Token usage of one upstream call."""

    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0
    reasoning_tokens: int = 0


FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]


@dataclass(frozen=True)
class FinishDelta:
    """The upstream finished this choice."""

    reason: FinishReason


ChatDelta = TextDelta | ReasoningDelta | RefusalDelta | ToolCallDelta | UsageDelta | FinishDelta

UpstreamErrorKind = Literal["connect", "timeout", "status", "protocol"]


class UpstreamError(Exception):
    """The upstream failed. `status` is its HTTP status, when it answered with one."""

    def __init__(
        self,
        kind: UpstreamErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: UpstreamErrorKind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class UpstreamModel:
    """One model as its upstream lists it (OpenAI's `Model`); `created` and `owned_by` when it says."""

    id: str
    created: int | None = None
    owned_by: str | None = None
    context_window: int | None = None


@dataclass(frozen=True)
class TokenCount:
    """How many tokens a chat request's prompt is: `exact` when the upstream's own tokenizer (and chat
    template) counted it, else an estimate (`providers/token_estimate.py` says how it is made)."""

    tokens: int
    exact: bool


@dataclass(frozen=True)
class Capabilities:
    """What an adapter's upstream can do; core reads only this, never the provider's name."""

    reasoning_field: str | None = None
    accepts_reasoning_input: bool = False
    reasoning_effort: bool = False
    tool_choice_forcing: bool = True
    parallel_tool_calls: bool = True
    logprobs: bool = True
    response_format: bool = True
    images: bool = True


class Provider(Protocol):
    """An upstream model server."""

    @property
    def capabilities(self) -> Capabilities:
        """What this provider can do."""
        ...

    def stream(self, req: ChatRequest) -> AsyncIterator[ChatDelta]:
        """Run one chat completion and yield its deltas. Raises `UpstreamError`."""
        ...

    async def models(self) -> list[UpstreamModel]:
        """The models the upstream serves, by the names it knows them by. Raises `UpstreamError`."""
        ...

    async def count_tokens(self, req: ChatRequest) -> TokenCount:
        """The prompt tokens of exactly the request `stream(req)` would send (messages, tools, the chat
        template where the upstream applies one): counted by the upstream where it can, else
        estimated. Never raises: a tokenizer that fails gives the estimate."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...
