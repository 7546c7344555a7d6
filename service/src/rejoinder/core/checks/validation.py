"""Every 400 about the shape of a create request is raised here, and shorthands are expanded once.

`validate` returns a `ValidatedRequest`: the request with its defaults applied, `input` as a list
of items and message `content` as lists of parts, so nothing downstream sees the string forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rejoinder.config_limits import RequestLimits
from rejoinder.core.checks.items import check_input_items_steps, expand_input_steps
from rejoinder.core.checks.json_text import check_json_object
from rejoinder.core.checks.limits import check_counts
from rejoinder.core.checks.tools import check_tools
from rejoinder.errors import ApiError, clip, invalid, too_long
from rejoinder.pacing import Steps, run_sync
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.tools.registry import ToolKinds

TRUNCATION = ("auto", "disabled")
SERVICE_TIERS = ("auto", "default", "flex", "scale", "priority")
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
SUMMARIES = ("auto", "concise", "detailed")
VERBOSITY = ("low", "medium", "high")
INCLUDABLE = (
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
)
METADATA_MAX_KEYS = 16
METADATA_MAX_KEY = 64
METADATA_MAX_VALUE = 512
IDENTIFIER_MAX = 64
DEFAULT_LIMITS = RequestLimits()
COPY_CHUNK = 256
MIN_OUTPUT_TOKENS = 16
MAX_OUTPUT_TOKENS = 1_048_576
"""No model produces more in one response; a model configured with its own maximum is held to that."""


@dataclass(frozen=True)
class ValidatedRequest:
    """A create request that passed validation, normalized (the original is never mutated)."""

    params: CreateRequest
    input_items: tuple[InputItem, ...]
    store: bool
    stream: bool
    background: bool = False
    conversation_id: str | None = None


def _one_of(value: str, allowed: tuple[str, ...], param: str) -> None:
    if value not in allowed:
        listed = ", ".join(f"'{a}'" for a in allowed)
        raise invalid(
            f"Invalid value: '{clip(value)}'. Supported values are: {listed}.",
            param=param,
            code="invalid_value",
        )


def _in_range(value: float, low: float, high: float, param: str) -> None:
    if value < low:
        raise invalid(
            f"Invalid '{param}': decimal below minimum value. Expected a value >= {low}, "
            f"but got {value} instead.",
            param=param,
            code="decimal_below_min_value",
        )
    if value > high:
        raise invalid(
            f"Invalid '{param}': decimal above maximum value. Expected a value <= {high}, "
            f"but got {value} instead.",
            param=param,
            code="decimal_above_max_value",
        )


def _at_least(value: int, low: int, param: str) -> None:
    if value < low:
        raise invalid(
            f"Invalid '{param}': integer below minimum value. Expected a value >= {low}, "
            f"but got {value} instead.",
            param=param,
            code="integer_below_min_value",
        )


def at_most(value: int, high: int, param: str) -> None:
    """OpenAI's 400 for an integer above its maximum."""
    if value > high:
        raise invalid(
            f"Invalid '{param}': integer above maximum value. Expected a value <= {high}, "
            f"but got {value} instead.",
            param=param,
            code="integer_above_max_value",
        )


def _max_length(value: str, limit: int, param: str) -> None:
    if len(value) > limit:
        raise too_long(len(value), limit, param)


def _check_sampling(req: CreateRequest) -> None:
    if req.HasField("temperature"):
        _in_range(req.temperature, 0, 2, "temperature")
    if req.HasField("top_p"):
        _in_range(req.top_p, 0, 1, "top_p")
    if req.HasField("presence_penalty"):
        _in_range(req.presence_penalty, -2, 2, "presence_penalty")
    if req.HasField("frequency_penalty"):
        _in_range(req.frequency_penalty, -2, 2, "frequency_penalty")
    if req.HasField("top_logprobs"):
        _at_least(req.top_logprobs, 0, "top_logprobs")
        at_most(req.top_logprobs, 20, "top_logprobs")
    if req.HasField("max_output_tokens"):
        _at_least(req.max_output_tokens, MIN_OUTPUT_TOKENS, "max_output_tokens")
        at_most(req.max_output_tokens, MAX_OUTPUT_TOKENS, "max_output_tokens")
    if req.HasField("max_tool_calls"):
        _at_least(req.max_tool_calls, 1, "max_tool_calls")


def check_metadata(metadata: Mapping[str, str]) -> None:
    """At most 16 keys of up to 64 characters, values up to 512 (OpenAI's limits)."""
    if len(metadata) > METADATA_MAX_KEYS:
        raise invalid(
            "Invalid 'metadata': too many properties. Expected an object with at most "
            f"{METADATA_MAX_KEYS} properties, but got an object with {len(metadata)} properties instead.",
            param="metadata",
            code="object_above_max_properties",
        )
    for key, value in metadata.items():
        _max_length(key, METADATA_MAX_KEY, "metadata")
        _max_length(value, METADATA_MAX_VALUE, f"metadata.{key}")


def _check_text_format(req: CreateRequest) -> None:
    fmt = req.text.format
    if fmt.WhichOneof("format") == "json_schema":
        if not fmt.json_schema.name:
            raise invalid(
                "Missing required parameter: 'text.format.name'.",
                param="text.format.name",
                code="missing_required_parameter",
            )
        check_json_object(fmt.json_schema.schema or "null", "text.format.schema")


def _check_options(req: CreateRequest) -> None:
    if req.HasField("truncation"):
        _one_of(req.truncation, TRUNCATION, "truncation")
    if req.HasField("service_tier"):
        _one_of(req.service_tier, SERVICE_TIERS, "service_tier")
    for i, inc in enumerate(req.include):
        _one_of(inc, INCLUDABLE, f"include[{i}]")
    if req.reasoning.HasField("effort"):
        _one_of(req.reasoning.effort, EFFORTS, "reasoning.effort")
    if req.reasoning.HasField("summary"):
        _one_of(req.reasoning.summary, SUMMARIES, "reasoning.summary")
    if req.text.HasField("verbosity"):
        _one_of(req.text.verbosity, VERBOSITY, "text.verbosity")
    _check_text_format(req)
    if req.HasField("safety_identifier"):
        _max_length(req.safety_identifier, IDENTIFIER_MAX, "safety_identifier")
    if req.HasField("prompt_cache_key"):
        _max_length(req.prompt_cache_key, IDENTIFIER_MAX, "prompt_cache_key")


def _unsupported(param: str, what: str) -> ApiError:
    return invalid(f"{what} is not supported by this server yet.", param=param, code="unsupported_parameter")


def _check_background(req: CreateRequest) -> None:
    if req.background and req.HasField("store") and not req.store:
        raise invalid(
            "Background mode requires 'store' to be true: set 'store': true or leave it out.",
            param="background",
            code="invalid_value",
        )


def _conversation_id(req: CreateRequest) -> str | None:
    if not req.HasField("conversation"):
        return None
    conv = req.conversation
    found = conv.id if conv.WhichOneof("conversation") == "id" else conv.ref.id
    if not found:
        raise invalid("Missing required parameter: 'conversation.id'.", param="conversation.id")
    if req.HasField("previous_response_id"):
        raise invalid(
            "Mutually exclusive parameters: Ensure you are only providing one of: "
            "'previous_response_id' or 'conversation'.",
            param="conversation",
            code="mutually_exclusive_parameters",
        )
    return found


def _check_context_management(req: CreateRequest) -> None:
    """Entries of OpenAI's one type, "compaction", with a positive threshold when one is given."""
    for i, entry in enumerate(req.context_management):
        _one_of(entry.type, ("compaction",), f"context_management[{i}].type")
        if entry.HasField("compact_threshold"):
            _at_least(entry.compact_threshold, 1, f"context_management[{i}].compact_threshold")


def _check_unsupported(req: CreateRequest) -> None:
    _check_context_management(req)
    if req.HasField("moderation"):
        raise _unsupported("moderation", "Moderation")


def _check_input_given(req: CreateRequest) -> None:
    """Something to answer: input, or the context of a previous response or a conversation."""
    if req.HasField("previous_response_id") or req.HasField("conversation"):
        return
    kind = req.input.WhichOneof("input")
    if kind is None:
        raise invalid(
            "Missing required parameter: 'input'.", param="input", code="missing_required_parameter"
        )
    if kind == "items" and not req.input.items.items:
        raise invalid(
            "Invalid 'input': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            param="input",
            code="empty_array",
        )


def validate(
    req: CreateRequest,
    *,
    stream: bool,
    limits: RequestLimits = DEFAULT_LIMITS,
    tools: ToolKinds | None = None,
) -> ValidatedRequest:
    """`validate_steps` at once."""
    return run_sync(validate_steps(req, stream=stream, limits=limits, tools=tools))


def validate_steps(
    req: CreateRequest,
    *,
    stream: bool,
    limits: RequestLimits = DEFAULT_LIMITS,
    tools: ToolKinds | None = None,
) -> Steps[ValidatedRequest]:
    """Check a create request and normalize it. Raises `ApiError` (400) naming the parameter.

    `tools`: the server-side tool kinds the server runs (they check their own tools); without them a
    request may name function tools only.

    In steps: the work that grows with the input yields between items (see `rejoinder.pacing`).
    """
    if not req.model:
        raise invalid(
            "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
        )
    _check_input_given(req)
    _check_sampling(req)
    check_metadata(req.metadata)
    _check_options(req)
    _check_background(req)
    _check_unsupported(req)
    check_counts(req, limits)
    check_tools(req, tools or ToolKinds())
    items = yield from expand_input_steps(req.input)
    yield from check_input_items_steps(items)
    # Everything but the input (a copy of that would hold the loop: 32 MiB of it, in one call) ...
    params = CreateRequest(**{fd.name: value for fd, value in req.ListFields() if fd.name != "input"})
    params.input.items.SetInParent()  # ... which comes back expanded, a chunk per step
    for start in range(0, len(items), COPY_CHUNK):  # a copy of each item: a chunk per step
        params.input.items.items.extend(items[start : start + COPY_CHUNK])
        yield
    if not params.HasField("tool_choice"):
        params.tool_choice.mode = "auto"
    return ValidatedRequest(
        params=params,
        input_items=items,
        store=req.store if req.HasField("store") else True,
        stream=stream,
        background=req.background,
        conversation_id=_conversation_id(req),
    )
