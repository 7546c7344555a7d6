"""OpenAI-shaped context and parameters -> the provider-neutral `ChatRequest`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rejoinder.core.checks.json_text import json_object
from rejoinder.core.checks.validation import ValidatedRequest
from rejoinder.core.context.files import file_key
from rejoinder.pacing import Steps, run_paced, run_sync
from rejoinder.providers import base as p
from rejoinder.responses.v1.content_pb2 import Content, FunctionOutput
from rejoinder.responses.v1.items_pb2 import InputItem, Message
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.tools.base import ServedCall, Transcript

LOGPROBS_INCLUDE = "message.output_text.logprobs"


def _part(part: Content, files: Mapping[str, str]) -> p.ContentPart | None:
    kind = part.WhichOneof("part")
    if kind == "input_file":
        text = files.get(file_key(part.input_file))
        return p.TextPart(text) if text is not None else None
    if kind == "input_text":
        return p.TextPart(part.input_text.text)
    if kind == "output_text":
        return p.TextPart(part.output_text.text)
    if kind == "refusal":
        return p.TextPart(part.refusal.refusal)
    if kind == "input_image" and part.input_image.HasField("image_url"):
        return p.ImagePart(part.input_image.image_url, part.input_image.detail or None)
    return None


def _content(parts: Sequence[Content], files: Mapping[str, str]) -> str | tuple[p.ContentPart, ...]:
    mapped = [m for m in (_part(x, files) for x in parts) if m is not None]
    if all(isinstance(m, p.TextPart) for m in mapped):
        return "".join(m.text for m in mapped if isinstance(m, p.TextPart))
    return tuple(mapped)


def _function_output(output: FunctionOutput) -> str:
    if output.WhichOneof("output") == "text":
        return output.text
    return "".join(part.input_text.text for part in output.parts.items if part.HasField("input_text"))


class _Builder:
    """Folds items into chat messages: function calls and reasoning join the assistant turn, and so do
    the calls of server-side tools (as the tool kinds' `transcripts` read their items)."""

    def __init__(self, transcripts: Sequence[Transcript], files: Mapping[str, str]) -> None:
        self.messages: list[p.ChatMessage] = []
        self._files = files
        self._transcripts = transcripts
        self._text: str | None = None
        self._calls: list[p.ToolCall] = []
        self._results: list[p.ChatMessage] = []
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
        self.messages.extend(self._results)
        self._text, self._calls, self._results, self._reasoning = None, [], [], []

    def message(self, msg: Message) -> None:
        content = _content(msg.content.parts.items, self._files)
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

    def _served_call(self, call: ServedCall) -> None:
        if self._results and not self._calls:
            self.flush()
        self._calls.append(p.ToolCall(id=call.call_id, name=call.name, arguments=call.arguments))
        self._results.append(p.ChatMessage(role="tool", content=call.output, tool_call_id=call.call_id))

    def _served(self, item: InputItem) -> None:
        for transcript in self._transcripts:
            call = transcript(item)
            if call is not None:
                self._served_call(call)
                return

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
        elif kind is not None:
            self._served(item)


def chat_messages_steps(
    items: Sequence[InputItem],
    instructions: str | None,
    transcripts: Sequence[Transcript] = (),
    files: Mapping[str, str] | None = None,
    prompt: Sequence[InputItem] = (),
) -> Steps[tuple[p.ChatMessage, ...]]:
    """The items as chat messages, after the `prompt` template's messages and then `instructions` as the
    system message; the items of server-side
    tools as `transcripts` read them (an item none reads is left out); `input_file` parts become the
    text in `files` (see core/context/files.py). In steps: one item each."""
    builder = _Builder(transcripts, files or {})
    for item in prompt:  # a prompt template's messages lead, before the instructions
        builder.add(item)
    if instructions:
        builder.messages.append(p.ChatMessage(role="system", content=instructions))
    for item in items:
        builder.add(item)
        yield
    builder.flush()
    return tuple(builder.messages)


def chat_messages(
    items: Sequence[InputItem],
    instructions: str | None,
    transcripts: Sequence[Transcript] = (),
    files: Mapping[str, str] | None = None,
    prompt: Sequence[InputItem] = (),
) -> tuple[p.ChatMessage, ...]:
    """`chat_messages_steps` at once."""
    return run_sync(chat_messages_steps(items, instructions, transcripts, files, prompt))


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


@dataclass(frozen=True)
class TurnInput:
    """What one upstream call is made of, beyond the request's own settings."""

    items: Sequence[InputItem]
    instructions: str | None
    upstream_model: str
    extra_tools: tuple[p.FunctionTool, ...] = ()
    transcripts: tuple[Transcript, ...] = ()
    files: Mapping[str, str] = field(default_factory=dict)
    prompt: Sequence[InputItem] = ()  # the resolved prompt template's messages (`Context.prompt_items`)


async def paced_chat_request(vreq: ValidatedRequest, turn: TurnInput) -> p.ChatRequest:
    """`chat_request`, its messages made with pauses for the event loop (see `rejoinder.pacing`)."""
    steps = chat_messages_steps(turn.items, turn.instructions, turn.transcripts, turn.files, turn.prompt)
    return chat_request(vreq, turn, await run_paced(steps))


def chat_request(
    vreq: ValidatedRequest, turn: TurnInput, messages: tuple[p.ChatMessage, ...] | None = None
) -> p.ChatRequest:
    """The chat completions request for one turn of this response (`messages`: made already)."""
    params = vreq.params
    logprobs = LOGPROBS_INCLUDE in params.include or params.HasField("top_logprobs")
    if messages is None:
        messages = chat_messages(turn.items, turn.instructions, turn.transcripts, turn.files, turn.prompt)
    return p.ChatRequest(
        model=turn.upstream_model,
        messages=messages,
        stream=vreq.stream,
        temperature=params.temperature if params.HasField("temperature") else None,
        top_p=params.top_p if params.HasField("top_p") else None,
        presence_penalty=params.presence_penalty if params.HasField("presence_penalty") else None,
        frequency_penalty=params.frequency_penalty if params.HasField("frequency_penalty") else None,
        max_output_tokens=params.max_output_tokens if params.HasField("max_output_tokens") else None,
        tools=_tools(params) + turn.extra_tools,
        tool_choice=None,
        parallel_tool_calls=params.parallel_tool_calls if params.HasField("parallel_tool_calls") else None,
        response_format=_response_format(params),
        logprobs=logprobs,
        top_logprobs=params.top_logprobs if params.HasField("top_logprobs") else None,
        reasoning_effort=params.reasoning.effort if params.reasoning.HasField("effort") else None,
        user=params.user if params.HasField("user") else None,
        safety_identifier=params.safety_identifier if params.HasField("safety_identifier") else None,
        prompt_cache_key=params.prompt_cache_key if params.HasField("prompt_cache_key") else None,
        prompt_cache_retention=(
            params.prompt_cache_retention if params.HasField("prompt_cache_retention") else None
        ),
        service_tier=params.service_tier if params.HasField("service_tier") else None,
        metadata=dict(params.metadata),
    )
