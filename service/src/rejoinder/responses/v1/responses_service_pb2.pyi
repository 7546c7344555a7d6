from google.api import field_behavior_pb2 as _field_behavior_pb2
from rejoinder.responses.v1 import events_pb2 as _events_pb2
from rejoinder.responses.v1 import items_pb2 as _items_pb2
from rejoinder.responses.v1 import response_pb2 as _response_pb2
from rejoinder.responses.v1 import tools_pb2 as _tools_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateRequest(_message.Message):
    __slots__ = ("model", "input", "instructions", "previous_response_id", "conversation", "store", "stream", "stream_options", "background", "tools", "tool_choice", "parallel_tool_calls", "max_tool_calls", "max_output_tokens", "temperature", "top_p", "presence_penalty", "frequency_penalty", "top_logprobs", "reasoning", "text", "include", "truncation", "metadata", "prompt", "prompt_cache_key", "prompt_cache_retention", "prompt_cache_options", "safety_identifier", "service_tier", "user", "context_management", "moderation")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    STORE_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    STREAM_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CHOICE_FIELD_NUMBER: _ClassVar[int]
    PARALLEL_TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    MAX_TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    MAX_OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_PENALTY_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_PENALTY_FIELD_NUMBER: _ClassVar[int]
    TOP_LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FIELD_NUMBER: _ClassVar[int]
    TRUNCATION_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_CACHE_KEY_FIELD_NUMBER: _ClassVar[int]
    PROMPT_CACHE_RETENTION_FIELD_NUMBER: _ClassVar[int]
    PROMPT_CACHE_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    SAFETY_IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TIER_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_MANAGEMENT_FIELD_NUMBER: _ClassVar[int]
    MODERATION_FIELD_NUMBER: _ClassVar[int]
    model: str
    input: _items_pb2.Input
    instructions: str
    previous_response_id: str
    conversation: _response_pb2.ConversationParam
    store: bool
    stream: bool
    stream_options: _response_pb2.StreamOptions
    background: bool
    tools: _containers.RepeatedCompositeFieldContainer[_tools_pb2.Tool]
    tool_choice: _tools_pb2.ToolChoice
    parallel_tool_calls: bool
    max_tool_calls: int
    max_output_tokens: int
    temperature: float
    top_p: float
    presence_penalty: float
    frequency_penalty: float
    top_logprobs: int
    reasoning: _response_pb2.Reasoning
    text: _response_pb2.TextConfig
    include: _containers.RepeatedScalarFieldContainer[str]
    truncation: str
    metadata: _containers.ScalarMap[str, str]
    prompt: _response_pb2.Prompt
    prompt_cache_key: str
    prompt_cache_retention: str
    prompt_cache_options: _response_pb2.PromptCacheOptions
    safety_identifier: str
    service_tier: str
    user: str
    context_management: _containers.RepeatedCompositeFieldContainer[_response_pb2.ContextManagement]
    moderation: _response_pb2.Moderation
    def __init__(self, model: _Optional[str] = ..., input: _Optional[_Union[_items_pb2.Input, _Mapping]] = ..., instructions: _Optional[str] = ..., previous_response_id: _Optional[str] = ..., conversation: _Optional[_Union[_response_pb2.ConversationParam, _Mapping]] = ..., store: _Optional[bool] = ..., stream: _Optional[bool] = ..., stream_options: _Optional[_Union[_response_pb2.StreamOptions, _Mapping]] = ..., background: _Optional[bool] = ..., tools: _Optional[_Iterable[_Union[_tools_pb2.Tool, _Mapping]]] = ..., tool_choice: _Optional[_Union[_tools_pb2.ToolChoice, _Mapping]] = ..., parallel_tool_calls: _Optional[bool] = ..., max_tool_calls: _Optional[int] = ..., max_output_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., presence_penalty: _Optional[float] = ..., frequency_penalty: _Optional[float] = ..., top_logprobs: _Optional[int] = ..., reasoning: _Optional[_Union[_response_pb2.Reasoning, _Mapping]] = ..., text: _Optional[_Union[_response_pb2.TextConfig, _Mapping]] = ..., include: _Optional[_Iterable[str]] = ..., truncation: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., prompt: _Optional[_Union[_response_pb2.Prompt, _Mapping]] = ..., prompt_cache_key: _Optional[str] = ..., prompt_cache_retention: _Optional[str] = ..., prompt_cache_options: _Optional[_Union[_response_pb2.PromptCacheOptions, _Mapping]] = ..., safety_identifier: _Optional[str] = ..., service_tier: _Optional[str] = ..., user: _Optional[str] = ..., context_management: _Optional[_Iterable[_Union[_response_pb2.ContextManagement, _Mapping]]] = ..., moderation: _Optional[_Union[_response_pb2.Moderation, _Mapping]] = ...) -> None: ...

class CreateResponse(_message.Message):
    __slots__ = ("response",)
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    response: _response_pb2.Response
    def __init__(self, response: _Optional[_Union[_response_pb2.Response, _Mapping]] = ...) -> None: ...

class StreamCreateRequest(_message.Message):
    __slots__ = ("params",)
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    params: CreateRequest
    def __init__(self, params: _Optional[_Union[CreateRequest, _Mapping]] = ...) -> None: ...

class StreamCreateResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: _events_pb2.ResponseStreamEvent
    def __init__(self, event: _Optional[_Union[_events_pb2.ResponseStreamEvent, _Mapping]] = ...) -> None: ...

class StreamCreateBatchedRequest(_message.Message):
    __slots__ = ("params",)
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    params: CreateRequest
    def __init__(self, params: _Optional[_Union[CreateRequest, _Mapping]] = ...) -> None: ...

class StreamCreateBatchedResponse(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_events_pb2.ResponseStreamEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[_events_pb2.ResponseStreamEvent, _Mapping]]] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("response_id", "include")
    RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FIELD_NUMBER: _ClassVar[int]
    response_id: str
    include: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, response_id: _Optional[str] = ..., include: _Optional[_Iterable[str]] = ...) -> None: ...

class GetResponse(_message.Message):
    __slots__ = ("response",)
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    response: _response_pb2.Response
    def __init__(self, response: _Optional[_Union[_response_pb2.Response, _Mapping]] = ...) -> None: ...

class StreamGetRequest(_message.Message):
    __slots__ = ("response_id", "starting_after")
    RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    STARTING_AFTER_FIELD_NUMBER: _ClassVar[int]
    response_id: str
    starting_after: int
    def __init__(self, response_id: _Optional[str] = ..., starting_after: _Optional[int] = ...) -> None: ...

class StreamGetResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: _events_pb2.ResponseStreamEvent
    def __init__(self, event: _Optional[_Union[_events_pb2.ResponseStreamEvent, _Mapping]] = ...) -> None: ...

class DeleteRequest(_message.Message):
    __slots__ = ("response_id",)
    RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    response_id: str
    def __init__(self, response_id: _Optional[str] = ...) -> None: ...

class DeleteResponse(_message.Message):
    __slots__ = ("id", "object", "deleted")
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    deleted: bool
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., deleted: _Optional[bool] = ...) -> None: ...

class CancelRequest(_message.Message):
    __slots__ = ("response_id",)
    RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    response_id: str
    def __init__(self, response_id: _Optional[str] = ...) -> None: ...

class CancelResponse(_message.Message):
    __slots__ = ("response",)
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    response: _response_pb2.Response
    def __init__(self, response: _Optional[_Union[_response_pb2.Response, _Mapping]] = ...) -> None: ...

class ListInputItemsRequest(_message.Message):
    __slots__ = ("response_id", "after", "before", "limit", "order", "include")
    RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FIELD_NUMBER: _ClassVar[int]
    response_id: str
    after: str
    before: str
    limit: int
    order: str
    include: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, response_id: _Optional[str] = ..., after: _Optional[str] = ..., before: _Optional[str] = ..., limit: _Optional[int] = ..., order: _Optional[str] = ..., include: _Optional[_Iterable[str]] = ...) -> None: ...

class ListInputItemsResponse(_message.Message):
    __slots__ = ("object", "data", "first_id", "last_id", "has_more")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FIRST_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_ID_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    object: str
    data: _containers.RepeatedCompositeFieldContainer[_items_pb2.InputItem]
    first_id: str
    last_id: str
    has_more: bool
    def __init__(self, object: _Optional[str] = ..., data: _Optional[_Iterable[_Union[_items_pb2.InputItem, _Mapping]]] = ..., first_id: _Optional[str] = ..., last_id: _Optional[str] = ..., has_more: _Optional[bool] = ...) -> None: ...

class CountInputTokensRequest(_message.Message):
    __slots__ = ("model", "input", "instructions", "previous_response_id", "conversation", "tools", "tool_choice", "parallel_tool_calls", "reasoning", "text", "truncation", "prompt")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CHOICE_FIELD_NUMBER: _ClassVar[int]
    PARALLEL_TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TRUNCATION_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    model: str
    input: _items_pb2.Input
    instructions: str
    previous_response_id: str
    conversation: _response_pb2.ConversationParam
    tools: _containers.RepeatedCompositeFieldContainer[_tools_pb2.Tool]
    tool_choice: _tools_pb2.ToolChoice
    parallel_tool_calls: bool
    reasoning: _response_pb2.Reasoning
    text: _response_pb2.TextConfig
    truncation: str
    prompt: _response_pb2.Prompt
    def __init__(self, model: _Optional[str] = ..., input: _Optional[_Union[_items_pb2.Input, _Mapping]] = ..., instructions: _Optional[str] = ..., previous_response_id: _Optional[str] = ..., conversation: _Optional[_Union[_response_pb2.ConversationParam, _Mapping]] = ..., tools: _Optional[_Iterable[_Union[_tools_pb2.Tool, _Mapping]]] = ..., tool_choice: _Optional[_Union[_tools_pb2.ToolChoice, _Mapping]] = ..., parallel_tool_calls: _Optional[bool] = ..., reasoning: _Optional[_Union[_response_pb2.Reasoning, _Mapping]] = ..., text: _Optional[_Union[_response_pb2.TextConfig, _Mapping]] = ..., truncation: _Optional[str] = ..., prompt: _Optional[_Union[_response_pb2.Prompt, _Mapping]] = ...) -> None: ...

class CountInputTokensResponse(_message.Message):
    __slots__ = ("object", "input_tokens", "estimated")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_FIELD_NUMBER: _ClassVar[int]
    object: str
    input_tokens: int
    estimated: bool
    def __init__(self, object: _Optional[str] = ..., input_tokens: _Optional[int] = ..., estimated: _Optional[bool] = ...) -> None: ...

class CompactRequest(_message.Message):
    __slots__ = ("model", "input", "instructions", "previous_response_id", "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention", "service_tier")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_CACHE_KEY_FIELD_NUMBER: _ClassVar[int]
    PROMPT_CACHE_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_CACHE_RETENTION_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TIER_FIELD_NUMBER: _ClassVar[int]
    model: str
    input: _items_pb2.Input
    instructions: str
    previous_response_id: str
    prompt_cache_key: str
    prompt_cache_options: _response_pb2.PromptCacheOptions
    prompt_cache_retention: str
    service_tier: str
    def __init__(self, model: _Optional[str] = ..., input: _Optional[_Union[_items_pb2.Input, _Mapping]] = ..., instructions: _Optional[str] = ..., previous_response_id: _Optional[str] = ..., prompt_cache_key: _Optional[str] = ..., prompt_cache_options: _Optional[_Union[_response_pb2.PromptCacheOptions, _Mapping]] = ..., prompt_cache_retention: _Optional[str] = ..., service_tier: _Optional[str] = ...) -> None: ...

class CompactResponse(_message.Message):
    __slots__ = ("id", "object", "created_at", "output", "usage")
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    created_at: int
    output: _containers.RepeatedCompositeFieldContainer[_items_pb2.InputItem]
    usage: _response_pb2.Usage
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., created_at: _Optional[int] = ..., output: _Optional[_Iterable[_Union[_items_pb2.InputItem, _Mapping]]] = ..., usage: _Optional[_Union[_response_pb2.Usage, _Mapping]] = ...) -> None: ...
