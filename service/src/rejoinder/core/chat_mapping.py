"""OpenAI-shaped context and parameters -> the provider-neutral `ChatRequest`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rejoinder.core.context import Context
from rejoinder.core.json_text import json_object
from rejoinder.core.validation import ValidatedRequest
from rejoinder.providers import base as p
from rejoinder.responses.v1.content_pb2 import Content, FunctionOutput
from rejoinder.responses.v1.items_pb2 import InputItem, Message
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest

LOGPROBS_INCLUDE = "message.output_text.logprobs"


def _part(part: Content) -> p.ContentPart | None:
    kind = part.WhichOneof("part")
    if kind == "input_text":
        return p.TextPart(part.input_text.text)
    if kind == "output_text":
        return p.TextPart(part.output_text.text)
    if kind == "refusal":
        return p.TextPart(part.refusal.refusal)
    if kind == "input_image" and part.input_image.HasField("image_url"):
        return p.ImagePart(part.input_image.image_url, part.input_image.detail or None)
    return None


def _content(parts: Sequence[Content]) -> str | tuple[p.ContentPart, ...]:
    mapped = [m for m in (_part(x) for x in parts) if m is not None]
    if all(isinstance(m, p.TextPart) for m in mapped):
        return "".join(m.text for m in mapped if isinstance(m, p.TextPart))
    return tuple(mapped)


def _function_output(output: FunctionOutput) -> str:
    if output.WhichOneof("output") == "text":
        return output.text
    return "".join(part.input_text.text for part in output.parts.items if part.HasField("input_text"))


class _Builder:
    """Folds items into chat messages: function calls and reasoning join the assistant turn."""

    def __init__(self) -> None:
        self.messages: list[p.ChatMessage] = []
        self._text: str | None = None
        self._calls: list[p.ToolCall] = []
        self._reasoning: list[str] = []

    def flush(self) -> None:
        if self._text is None and not self._calls and not self._reasoning:
            return
        self.messages.append(
            p.ChatMessage(
                role="assistant",
                content=self._text,
                tool_calls=tuple(self._calls),
                reasoning="".join(self._reasoning) or None,
            )
        )
        self._text, self._calls, self._reasoning = None, [], []

    def message(self, msg: Message) -> None:
        content = _content(msg.content.parts.items)
        if msg.role != "assistant":
            self.flush()
            role: p.Role = (
                "system" if msg.role == "system" else "developer" if msg.role == "developer" else "user"
            )
            self.messages.append(p.ChatMessage(role=role, content=content))
            return
        if self._text is not None or self._calls:
            self.flush()
        self._text = (
            content
            if isinstance(content, str)
            else "".join(c.text for c in content if isinstance(c, p.TextPart))
        )

    def add(self, item: InputItem) -> None:
        kind = item.WhichOneof("item")
        if kind == "message":
            self.message(item.message)
        elif kind == "function_call":
            call = item.function_call
            self._calls.append(p.ToolCall(id=call.call_id, name=call.name, arguments=call.arguments))
        elif kind == "reasoning":
            if self._text is not None or self._calls:
                self.flush()
            self._reasoning.extend(c.text for c in item.reasoning.content)
        elif kind == "function_call_output":
            self.flush()
            out = item.function_call_output
            self.messages.append(
                p.ChatMessage(role="tool", content=_function_output(out.output), tool_call_id=out.call_id)
            )


def chat_messages(ctx: Context) -> tuple[p.ChatMessage, ...]:
    """The context as chat messages, `instructions` first as the system message."""
    builder = _Builder()
    if ctx.instructions:
        builder.messages.append(p.ChatMessage(role="system", content=ctx.instructions))
    for item in ctx.items:
        builder.add(item)
    builder.flush()
    return tuple(builder.messages)


def _tools(params: CreateRequest) -> tuple[p.FunctionTool, ...]:
    tools: list[p.FunctionTool] = []
    for tool in params.tools:
        if tool.WhichOneof("tool") != "function":
            continue
        fn = tool.function
        tools.append(
            p.FunctionTool(
                name=fn.name,
                description=fn.description if fn.HasField("description") else None,
                parameters=json_object(fn.parameters) if fn.HasField("parameters") else None,
                strict=fn.strict if fn.HasField("strict") else None,
            )
        )
    return tuple(tools)


def _tool_choice(params: CreateRequest) -> p.ToolChoice | None:
    if len(params.tools) == 0:
        return None
    choice = params.tool_choice
    if choice.WhichOneof("tool_choice") == "function":
        return p.NamedToolChoice(choice.function.name)
    mode = choice.mode
    if mode in ("none", "required"):
        return "none" if mode == "none" else "required"
    return "auto"


def _response_format(params: CreateRequest) -> Mapping[str, object] | None:
    fmt = params.text.format
    kind = fmt.WhichOneof("format")
    if kind == "json_object":
        return {"type": "json_object"}
    if kind != "json_schema":
        return None
    js = fmt.json_schema
    schema: dict[str, object] = {"name": js.name, "schema": json_object(js.schema)}
    if js.HasField("description"):
        schema["description"] = js.description
    if js.HasField("strict"):
        schema["strict"] = js.strict
    return {"type": "json_schema", "json_schema": schema}


def chat_request(vreq: ValidatedRequest, ctx: Context, upstream_model: str) -> p.ChatRequest:
    """The chat completions request for one turn of this response."""
    params = vreq.params
    logprobs = LOGPROBS_INCLUDE in params.include or params.HasField("top_logprobs")
    return p.ChatRequest(
        model=upstream_model,
        messages=chat_messages(ctx),
        stream=vreq.stream,
        temperature=params.temperature if params.HasField("temperature") else None,
        top_p=params.top_p if params.HasField("top_p") else None,
        presence_penalty=params.presence_penalty if params.HasField("presence_penalty") else None,
        frequency_penalty=params.frequency_penalty if params.HasField("frequency_penalty") else None,
        max_output_tokens=params.max_output_tokens if params.HasField("max_output_tokens") else None,
        tools=_tools(params),
        tool_choice=_tool_choice(params),
        parallel_tool_calls=params.parallel_tool_calls if params.HasField("parallel_tool_calls") else None,
        response_format=_response_format(params),
        logprobs=logprobs,
        top_logprobs=params.top_logprobs if params.HasField("top_logprobs") else None,
        reasoning_effort=params.reasoning.effort if params.reasoning.HasField("effort") else None,
        user=params.user if params.HasField("user") else None,
        safety_identifier=params.safety_identifier if params.HasField("safety_identifier") else None,
        prompt_cache_key=params.prompt_cache_key if params.HasField("prompt_cache_key") else None,
        service_tier=params.service_tier if params.HasField("service_tier") else None,
        metadata=dict(params.metadata),
    )
