"""The response object as it starts: every request setting echoed the way OpenAI echoes it."""

from __future__ import annotations

from collections.abc import Callable

from rejoinder.core.checks.validation import ValidatedRequest
from rejoinder.responses.v1.response_pb2 import Response, TextConfig
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.responses.v1.tools_pb2 import Tool

DEFAULT_TEMPERATURE = 1.0
DEFAULT_TOP_P = 1.0
ECHOED_AS_GIVEN = (
    "instructions",
    "previous_response_id",
    "max_output_tokens",
    "max_tool_calls",
    "safety_identifier",
    "prompt_cache_key",
    "prompt_cache_retention",
    "user",
)


def _as_given(tool: Tool) -> Tool:
    return tool


def _echo_text(text: TextConfig, vreq: ValidatedRequest) -> None:
    """`text` as the request gave it, with OpenAI's defaults: format `text`, verbosity `medium`, and a
    JSON schema's `strict` false."""
    text.CopyFrom(vreq.params.text)
    fmt = text.format
    if not text.HasField("format"):
        fmt.text.SetInParent()
    elif fmt.WhichOneof("format") == "json_schema" and not fmt.json_schema.HasField("strict"):
        fmt.json_schema.strict = False
    if not text.HasField("verbosity"):
        text.verbosity = "medium"


def _echo_as_given(r: Response, q: CreateRequest) -> None:
    """The optional settings echoed as the request gave them, when it gave them."""
    given = {fd.name: value for fd, value in q.ListFields() if fd.name in ECHOED_AS_GIVEN}
    if given:  # most requests set none of them
        r.MergeFrom(Response(**given))


def initial_response(
    vreq: ValidatedRequest, response_id: str, created_at: int, public: Callable[[Tool], Tool] = _as_given
) -> Response:
    """The response of a validated request as it starts: `queued` in background mode, else `in_progress`.
    Its tools are echoed as `public` shows them (`ToolKinds.public`: server-side tools' credentials are
    never echoed or stored)."""
    q = vreq.params
    r = Response(
        id=response_id,
        object="response",
        created_at=created_at,
        status="queued" if vreq.background else "in_progress",
        model=q.model,
        parallel_tool_calls=q.parallel_tool_calls if q.HasField("parallel_tool_calls") else True,
        temperature=q.temperature if q.HasField("temperature") else DEFAULT_TEMPERATURE,
        top_p=q.top_p if q.HasField("top_p") else DEFAULT_TOP_P,
        presence_penalty=q.presence_penalty,
        frequency_penalty=q.frequency_penalty,
        top_logprobs=q.top_logprobs,
        truncation=q.truncation if q.HasField("truncation") else "disabled",
        store=vreq.store,
        background=q.background,
        service_tier=q.service_tier if q.HasField("service_tier") and q.service_tier != "auto" else "default",
        tool_choice=q.tool_choice,
        reasoning=q.reasoning,
    )
    if q.metadata:
        r.metadata.update(q.metadata)
    if q.tools:
        r.tools.extend(public(t) for t in q.tools)
    _echo_text(r.text, vreq)
    if q.HasField("prompt_cache_options"):
        r.prompt_cache_options.CopyFrom(q.prompt_cache_options)
    _echo_as_given(r, q)
    if vreq.conversation_id is not None:
        r.conversation.id = vreq.conversation_id
    return r
