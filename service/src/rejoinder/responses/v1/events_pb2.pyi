from google.api import field_behavior_pb2 as _field_behavior_pb2
from rejoinder.responses.v1 import content_pb2 as _content_pb2
from rejoinder.responses.v1 import items_pb2 as _items_pb2
from rejoinder.responses.v1 import options_pb2 as _options_pb2
from rejoinder.responses.v1 import response_pb2 as _response_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResponseStreamEvent(_message.Message):
    __slots__ = ("sequence_number", "response_created", "response_queued", "response_in_progress", "response_completed", "response_incomplete", "response_failed", "output_item_added", "output_item_done", "content_part_added", "content_part_done", "output_text_delta", "output_text_done", "output_text_annotation_added", "refusal_delta", "refusal_done", "function_call_arguments_delta", "function_call_arguments_done", "reasoning_text_delta", "reasoning_text_done", "reasoning_summary_part_added", "reasoning_summary_part_done", "reasoning_summary_text_delta", "reasoning_summary_text_done", "error", "mcp_list_tools_in_progress", "mcp_list_tools_completed", "mcp_list_tools_failed", "mcp_call_in_progress", "mcp_call_completed", "mcp_call_failed", "mcp_call_arguments_delta", "mcp_call_arguments_done", "file_search_call_in_progress", "file_search_call_searching", "file_search_call_completed", "compaction_compacting")
    SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_CREATED_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_QUEUED_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_INCOMPLETE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FAILED_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_ITEM_ADDED_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_ITEM_DONE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_PART_ADDED_FIELD_NUMBER: _ClassVar[int]
    CONTENT_PART_DONE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TEXT_DELTA_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TEXT_DONE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TEXT_ANNOTATION_ADDED_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_DELTA_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_DONE_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_CALL_ARGUMENTS_DELTA_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_CALL_ARGUMENTS_DONE_FIELD_NUMBER: _ClassVar[int]
    REASONING_TEXT_DELTA_FIELD_NUMBER: _ClassVar[int]
    REASONING_TEXT_DONE_FIELD_NUMBER: _ClassVar[int]
    REASONING_SUMMARY_PART_ADDED_FIELD_NUMBER: _ClassVar[int]
    REASONING_SUMMARY_PART_DONE_FIELD_NUMBER: _ClassVar[int]
    REASONING_SUMMARY_TEXT_DELTA_FIELD_NUMBER: _ClassVar[int]
    REASONING_SUMMARY_TEXT_DONE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    MCP_LIST_TOOLS_IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    MCP_LIST_TOOLS_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    MCP_LIST_TOOLS_FAILED_FIELD_NUMBER: _ClassVar[int]
    MCP_CALL_IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    MCP_CALL_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    MCP_CALL_FAILED_FIELD_NUMBER: _ClassVar[int]
    MCP_CALL_ARGUMENTS_DELTA_FIELD_NUMBER: _ClassVar[int]
    MCP_CALL_ARGUMENTS_DONE_FIELD_NUMBER: _ClassVar[int]
    FILE_SEARCH_CALL_IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    FILE_SEARCH_CALL_SEARCHING_FIELD_NUMBER: _ClassVar[int]
    FILE_SEARCH_CALL_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    COMPACTION_COMPACTING_FIELD_NUMBER: _ClassVar[int]
    sequence_number: int
    response_created: ResponseCreatedEvent
    response_queued: ResponseQueuedEvent
    response_in_progress: ResponseInProgressEvent
    response_completed: ResponseCompletedEvent
    response_incomplete: ResponseIncompleteEvent
    response_failed: ResponseFailedEvent
    output_item_added: OutputItemAddedEvent
    output_item_done: OutputItemDoneEvent
    content_part_added: ContentPartAddedEvent
    content_part_done: ContentPartDoneEvent
    output_text_delta: OutputTextDeltaEvent
    output_text_done: OutputTextDoneEvent
    output_text_annotation_added: OutputTextAnnotationAddedEvent
    refusal_delta: RefusalDeltaEvent
    refusal_done: RefusalDoneEvent
    function_call_arguments_delta: FunctionCallArgumentsDeltaEvent
    function_call_arguments_done: FunctionCallArgumentsDoneEvent
    reasoning_text_delta: ReasoningTextDeltaEvent
    reasoning_text_done: ReasoningTextDoneEvent
    reasoning_summary_part_added: ReasoningSummaryPartAddedEvent
    reasoning_summary_part_done: ReasoningSummaryPartDoneEvent
    reasoning_summary_text_delta: ReasoningSummaryTextDeltaEvent
    reasoning_summary_text_done: ReasoningSummaryTextDoneEvent
    error: ErrorEvent
    mcp_list_tools_in_progress: McpListToolsInProgressEvent
    mcp_list_tools_completed: McpListToolsCompletedEvent
    mcp_list_tools_failed: McpListToolsFailedEvent
    mcp_call_in_progress: McpCallInProgressEvent
    mcp_call_completed: McpCallCompletedEvent
    mcp_call_failed: McpCallFailedEvent
    mcp_call_arguments_delta: McpCallArgumentsDeltaEvent
    mcp_call_arguments_done: McpCallArgumentsDoneEvent
    file_search_call_in_progress: FileSearchCallInProgressEvent
    file_search_call_searching: FileSearchCallSearchingEvent
    file_search_call_completed: FileSearchCallCompletedEvent
    compaction_compacting: CompactionCompactingEvent
    def __init__(self, sequence_number: _Optional[int] = ..., response_created: _Optional[_Union[ResponseCreatedEvent, _Mapping]] = ..., response_queued: _Optional[_Union[ResponseQueuedEvent, _Mapping]] = ..., response_in_progress: _Optional[_Union[ResponseInProgressEvent, _Mapping]] = ..., response_completed: _Optional[_Union[ResponseCompletedEvent, _Mapping]] = ..., response_incomplete: _Optional[_Union[ResponseIncompleteEvent, _Mapping]] = ..., response_failed: _Optional[_Union[ResponseFailedEvent, _Mapping]] = ..., output_item_added: _Optional[_Union[OutputItemAddedEvent, _Mapping]] = ..., output_item_done: _Optional[_Union[OutputItemDoneEvent, _Mapping]] = ..., content_part_added: _Optional[_Union[ContentPartAddedEvent, _Mapping]] = ..., content_part_done: _Optional[_Union[ContentPartDoneEvent, _Mapping]] = ..., output_text_delta: _Optional[_Union[OutputTextDeltaEvent, _Mapping]] = ..., output_text_done: _Optional[_Union[OutputTextDoneEvent, _Mapping]] = ..., output_text_annotation_added: _Optional[_Union[OutputTextAnnotationAddedEvent, _Mapping]] = ..., refusal_delta: _Optional[_Union[RefusalDeltaEvent, _Mapping]] = ..., refusal_done: _Optional[_Union[RefusalDoneEvent, _Mapping]] = ..., function_call_arguments_delta: _Optional[_Union[FunctionCallArgumentsDeltaEvent, _Mapping]] = ..., function_call_arguments_done: _Optional[_Union[FunctionCallArgumentsDoneEvent, _Mapping]] = ..., reasoning_text_delta: _Optional[_Union[ReasoningTextDeltaEvent, _Mapping]] = ..., reasoning_text_done: _Optional[_Union[ReasoningTextDoneEvent, _Mapping]] = ..., reasoning_summary_part_added: _Optional[_Union[ReasoningSummaryPartAddedEvent, _Mapping]] = ..., reasoning_summary_part_done: _Optional[_Union[ReasoningSummaryPartDoneEvent, _Mapping]] = ..., reasoning_summary_text_delta: _Optional[_Union[ReasoningSummaryTextDeltaEvent, _Mapping]] = ..., reasoning_summary_text_done: _Optional[_Union[ReasoningSummaryTextDoneEvent, _Mapping]] = ..., error: _Optional[_Union[ErrorEvent, _Mapping]] = ..., mcp_list_tools_in_progress: _Optional[_Union[McpListToolsInProgressEvent, _Mapping]] = ..., mcp_list_tools_completed: _Optional[_Union[McpListToolsCompletedEvent, _Mapping]] = ..., mcp_list_tools_failed: _Optional[_Union[McpListToolsFailedEvent, _Mapping]] = ..., mcp_call_in_progress: _Optional[_Union[McpCallInProgressEvent, _Mapping]] = ..., mcp_call_completed: _Optional[_Union[McpCallCompletedEvent, _Mapping]] = ..., mcp_call_failed: _Optional[_Union[McpCallFailedEvent, _Mapping]] = ..., mcp_call_arguments_delta: _Optional[_Union[McpCallArgumentsDeltaEvent, _Mapping]] = ..., mcp_call_arguments_done: _Optional[_Union[McpCallArgumentsDoneEvent, _Mapping]] = ..., file_search_call_in_progress: _Optional[_Union[FileSearchCallInProgressEvent, _Mapping]] = ..., file_search_call_searching: _Optional[_Union[FileSearchCallSearchingEvent, _Mapping]] = ..., file_search_call_completed: _Optional[_Union[FileSearchCallCompletedEvent, _Mapping]] = ..., compaction_compacting: _Optional[_Union[CompactionCompactingEvent, _Mapping]] = ...) -> None: ...

class ResponseCreatedEvent(_message.Message):
    __slots__ = ("response",)
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    response: _response_pb2.Response
    def __init__(self, response: _Optional[_Union[_response_pb2.Response, _Mapping]] = ...) -> None: ...

class ResponseQueuedEvent(_message.Message):
    __slots__ = ("response",)
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    response: _response_pb2.Response
    def __init__(self, response: _Optional[_Union[_response_pb2.Response, _Mapping]] = ...) -> None: ...

class ResponseInProgressEvent(_message.Message):
    __slots__ = ("response",)
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    response: _response_pb2.Response
    def __init__(self, response: _Optional[_Union[_response_pb2.Response, _Mapping]] = ...) -> None: ...

class ResponseCompletedEvent(_message.Message):
    __slots__ = ("response",)
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    response: _response_pb2.Response
    def __init__(self, response: _Optional[_Union[_response_pb2.Response, _Mapping]] = ...) -> None: ...

class ResponseIncompleteEvent(_message.Message):
    __slots__ = ("response",)
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    response: _response_pb2.Response
    def __init__(self, response: _Optional[_Union[_response_pb2.Response, _Mapping]] = ...) -> None: ...

class ResponseFailedEvent(_message.Message):
    __slots__ = ("response",)
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    response: _response_pb2.Response
    def __init__(self, response: _Optional[_Union[_response_pb2.Response, _Mapping]] = ...) -> None: ...

class OutputItemAddedEvent(_message.Message):
    __slots__ = ("output_index", "item")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item: _items_pb2.OutputItem
    def __init__(self, output_index: _Optional[int] = ..., item: _Optional[_Union[_items_pb2.OutputItem, _Mapping]] = ...) -> None: ...

class OutputItemDoneEvent(_message.Message):
    __slots__ = ("output_index", "item")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item: _items_pb2.OutputItem
    def __init__(self, output_index: _Optional[int] = ..., item: _Optional[_Union[_items_pb2.OutputItem, _Mapping]] = ...) -> None: ...

class ContentPartAddedEvent(_message.Message):
    __slots__ = ("output_index", "item_id", "content_index", "part")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    PART_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    content_index: int
    part: _content_pb2.StreamedContent
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ..., content_index: _Optional[int] = ..., part: _Optional[_Union[_content_pb2.StreamedContent, _Mapping]] = ...) -> None: ...

class ContentPartDoneEvent(_message.Message):
    __slots__ = ("output_index", "item_id", "content_index", "part")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    PART_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    content_index: int
    part: _content_pb2.StreamedContent
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ..., content_index: _Optional[int] = ..., part: _Optional[_Union[_content_pb2.StreamedContent, _Mapping]] = ...) -> None: ...

class OutputTextDeltaEvent(_message.Message):
    __slots__ = ("output_index", "item_id", "content_index", "delta", "logprobs", "obfuscation")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    OBFUSCATION_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    content_index: int
    delta: str
    logprobs: _containers.RepeatedCompositeFieldContainer[_content_pb2.Logprob]
    obfuscation: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ..., content_index: _Optional[int] = ..., delta: _Optional[str] = ..., logprobs: _Optional[_Iterable[_Union[_content_pb2.Logprob, _Mapping]]] = ..., obfuscation: _Optional[str] = ...) -> None: ...

class OutputTextDoneEvent(_message.Message):
    __slots__ = ("output_index", "item_id", "content_index", "text", "logprobs")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    content_index: int
    text: str
    logprobs: _containers.RepeatedCompositeFieldContainer[_content_pb2.Logprob]
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ..., content_index: _Optional[int] = ..., text: _Optional[str] = ..., logprobs: _Optional[_Iterable[_Union[_content_pb2.Logprob, _Mapping]]] = ...) -> None: ...

class OutputTextAnnotationAddedEvent(_message.Message):
    __slots__ = ("output_index", "item_id", "content_index", "annotation_index", "annotation")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ANNOTATION_INDEX_FIELD_NUMBER: _ClassVar[int]
    ANNOTATION_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    content_index: int
    annotation_index: int
    annotation: _content_pb2.Annotation
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ..., content_index: _Optional[int] = ..., annotation_index: _Optional[int] = ..., annotation: _Optional[_Union[_content_pb2.Annotation, _Mapping]] = ...) -> None: ...

class RefusalDeltaEvent(_message.Message):
    __slots__ = ("output_index", "item_id", "content_index", "delta")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    content_index: int
    delta: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ..., content_index: _Optional[int] = ..., delta: _Optional[str] = ...) -> None: ...

class RefusalDoneEvent(_message.Message):
    __slots__ = ("output_index", "item_id", "content_index", "refusal")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    content_index: int
    refusal: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ..., content_index: _Optional[int] = ..., refusal: _Optional[str] = ...) -> None: ...

class FunctionCallArgumentsDeltaEvent(_message.Message):
    __slots__ = ("output_index", "item_id", "delta", "obfuscation")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    OBFUSCATION_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    delta: str
    obfuscation: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ..., delta: _Optional[str] = ..., obfuscation: _Optional[str] = ...) -> None: ...

class FunctionCallArgumentsDoneEvent(_message.Message):
    __slots__ = ("output_index", "item_id", "name", "arguments")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    name: str
    arguments: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ..., name: _Optional[str] = ..., arguments: _Optional[str] = ...) -> None: ...

class ReasoningTextDeltaEvent(_message.Message):
    __slots__ = ("output_index", "item_id", "content_index", "delta", "obfuscation")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    OBFUSCATION_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    content_index: int
    delta: str
    obfuscation: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ..., content_index: _Optional[int] = ..., delta: _Optional[str] = ..., obfuscation: _Optional[str] = ...) -> None: ...

class ReasoningTextDoneEvent(_message.Message):
    __slots__ = ("output_index", "item_id", "content_index", "text")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    content_index: int
    text: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ..., content_index: _Optional[int] = ..., text: _Optional[str] = ...) -> None: ...

class ReasoningSummaryPartAddedEvent(_message.Message):
    __slots__ = ("output_index", "item_id", "summary_index", "part")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_INDEX_FIELD_NUMBER: _ClassVar[int]
    PART_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    summary_index: int
    part: _content_pb2.SummaryText
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ..., summary_index: _Optional[int] = ..., part: _Optional[_Union[_content_pb2.SummaryText, _Mapping]] = ...) -> None: ...

class ReasoningSummaryPartDoneEvent(_message.Message):
    __slots__ = ("output_index", "item_id", "summary_index", "part")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_INDEX_FIELD_NUMBER: _ClassVar[int]
    PART_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    summary_index: int
    part: _content_pb2.SummaryText
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ..., summary_index: _Optional[int] = ..., part: _Optional[_Union[_content_pb2.SummaryText, _Mapping]] = ...) -> None: ...

class ReasoningSummaryTextDeltaEvent(_message.Message):
    __slots__ = ("output_index", "item_id", "summary_index", "delta")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_INDEX_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    summary_index: int
    delta: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ..., summary_index: _Optional[int] = ..., delta: _Optional[str] = ...) -> None: ...

class ReasoningSummaryTextDoneEvent(_message.Message):
    __slots__ = ("output_index", "item_id", "summary_index", "text")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_INDEX_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    summary_index: int
    text: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ..., summary_index: _Optional[int] = ..., text: _Optional[str] = ...) -> None: ...

class ErrorPayload(_message.Message):
    __slots__ = ("type", "code", "message", "param")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PARAM_FIELD_NUMBER: _ClassVar[int]
    type: str
    code: str
    message: str
    param: str
    def __init__(self, type: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ..., param: _Optional[str] = ...) -> None: ...

class ErrorEvent(_message.Message):
    __slots__ = ("code", "message", "param", "error")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PARAM_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    param: str
    error: ErrorPayload
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., param: _Optional[str] = ..., error: _Optional[_Union[ErrorPayload, _Mapping]] = ...) -> None: ...

class McpListToolsInProgressEvent(_message.Message):
    __slots__ = ("output_index", "item_id")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ...) -> None: ...

class McpListToolsCompletedEvent(_message.Message):
    __slots__ = ("output_index", "item_id")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ...) -> None: ...

class McpListToolsFailedEvent(_message.Message):
    __slots__ = ("output_index", "item_id")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ...) -> None: ...

class McpCallInProgressEvent(_message.Message):
    __slots__ = ("output_index", "item_id")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ...) -> None: ...

class McpCallCompletedEvent(_message.Message):
    __slots__ = ("output_index", "item_id")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ...) -> None: ...

class McpCallFailedEvent(_message.Message):
    __slots__ = ("output_index", "item_id")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ...) -> None: ...

class McpCallArgumentsDeltaEvent(_message.Message):
    __slots__ = ("output_index", "item_id", "delta")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    delta: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ..., delta: _Optional[str] = ...) -> None: ...

class McpCallArgumentsDoneEvent(_message.Message):
    __slots__ = ("output_index", "item_id", "arguments")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    arguments: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ..., arguments: _Optional[str] = ...) -> None: ...

class FileSearchCallInProgressEvent(_message.Message):
    __slots__ = ("output_index", "item_id")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ...) -> None: ...

class FileSearchCallSearchingEvent(_message.Message):
    __slots__ = ("output_index", "item_id")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ...) -> None: ...

class FileSearchCallCompletedEvent(_message.Message):
    __slots__ = ("output_index", "item_id")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ...) -> None: ...

class CompactionCompactingEvent(_message.Message):
    __slots__ = ("output_index", "item_id")
    OUTPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    output_index: int
    item_id: str
    def __init__(self, output_index: _Optional[int] = ..., item_id: _Optional[str] = ...) -> None: ...
