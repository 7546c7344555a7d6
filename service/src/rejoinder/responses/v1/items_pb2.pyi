from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from rejoinder.responses.v1 import content_pb2 as _content_pb2
from rejoinder.responses.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Message(_message.Message):
    __slots__ = ("id", "role", "content", "status", "phase")
    ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    id: str
    role: str
    content: _content_pb2.MessageContent
    status: str
    phase: str
    def __init__(self, id: _Optional[str] = ..., role: _Optional[str] = ..., content: _Optional[_Union[_content_pb2.MessageContent, _Mapping]] = ..., status: _Optional[str] = ..., phase: _Optional[str] = ...) -> None: ...

class OutputMessage(_message.Message):
    __slots__ = ("id", "role", "status", "content", "phase")
    ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    id: str
    role: str
    status: str
    content: _containers.RepeatedCompositeFieldContainer[_content_pb2.OutputContent]
    phase: str
    def __init__(self, id: _Optional[str] = ..., role: _Optional[str] = ..., status: _Optional[str] = ..., content: _Optional[_Iterable[_Union[_content_pb2.OutputContent, _Mapping]]] = ..., phase: _Optional[str] = ...) -> None: ...

class FunctionToolCall(_message.Message):
    __slots__ = ("id", "call_id", "name", "arguments", "status", "namespace")
    ID_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    id: str
    call_id: str
    name: str
    arguments: str
    status: str
    namespace: str
    def __init__(self, id: _Optional[str] = ..., call_id: _Optional[str] = ..., name: _Optional[str] = ..., arguments: _Optional[str] = ..., status: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class FunctionCallOutput(_message.Message):
    __slots__ = ("id", "call_id", "output", "status")
    ID_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    id: str
    call_id: str
    output: _content_pb2.FunctionOutput
    status: str
    def __init__(self, id: _Optional[str] = ..., call_id: _Optional[str] = ..., output: _Optional[_Union[_content_pb2.FunctionOutput, _Mapping]] = ..., status: _Optional[str] = ...) -> None: ...

class ReasoningItem(_message.Message):
    __slots__ = ("id", "summary", "content", "encrypted_content", "status")
    ID_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_CONTENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    id: str
    summary: _containers.RepeatedCompositeFieldContainer[_content_pb2.SummaryText]
    content: _containers.RepeatedCompositeFieldContainer[_content_pb2.ReasoningText]
    encrypted_content: str
    status: str
    def __init__(self, id: _Optional[str] = ..., summary: _Optional[_Iterable[_Union[_content_pb2.SummaryText, _Mapping]]] = ..., content: _Optional[_Iterable[_Union[_content_pb2.ReasoningText, _Mapping]]] = ..., encrypted_content: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class ItemReference(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class McpToolInfo(_message.Message):
    __slots__ = ("name", "description", "input_schema", "annotations")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    INPUT_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    input_schema: str
    annotations: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., input_schema: _Optional[str] = ..., annotations: _Optional[str] = ...) -> None: ...

class McpListTools(_message.Message):
    __slots__ = ("id", "server_label", "tools", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    SERVER_LABEL_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    server_label: str
    tools: _containers.RepeatedCompositeFieldContainer[McpToolInfo]
    error: str
    def __init__(self, id: _Optional[str] = ..., server_label: _Optional[str] = ..., tools: _Optional[_Iterable[_Union[McpToolInfo, _Mapping]]] = ..., error: _Optional[str] = ...) -> None: ...

class McpProtocolError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class McpToolExecutionError(_message.Message):
    __slots__ = ("content",)
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    content: str
    def __init__(self, content: _Optional[str] = ...) -> None: ...

class HttpError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class McpCallError(_message.Message):
    __slots__ = ("mcp_protocol_error", "mcp_tool_execution_error", "http_error")
    MCP_PROTOCOL_ERROR_FIELD_NUMBER: _ClassVar[int]
    MCP_TOOL_EXECUTION_ERROR_FIELD_NUMBER: _ClassVar[int]
    HTTP_ERROR_FIELD_NUMBER: _ClassVar[int]
    mcp_protocol_error: McpProtocolError
    mcp_tool_execution_error: McpToolExecutionError
    http_error: HttpError
    def __init__(self, mcp_protocol_error: _Optional[_Union[McpProtocolError, _Mapping]] = ..., mcp_tool_execution_error: _Optional[_Union[McpToolExecutionError, _Mapping]] = ..., http_error: _Optional[_Union[HttpError, _Mapping]] = ...) -> None: ...

class McpCall(_message.Message):
    __slots__ = ("id", "server_label", "name", "arguments", "output", "error", "approval_request_id", "status")
    ID_FIELD_NUMBER: _ClassVar[int]
    SERVER_LABEL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    id: str
    server_label: str
    name: str
    arguments: str
    output: str
    error: McpCallError
    approval_request_id: str
    status: str
    def __init__(self, id: _Optional[str] = ..., server_label: _Optional[str] = ..., name: _Optional[str] = ..., arguments: _Optional[str] = ..., output: _Optional[str] = ..., error: _Optional[_Union[McpCallError, _Mapping]] = ..., approval_request_id: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class McpApprovalRequest(_message.Message):
    __slots__ = ("id", "server_label", "name", "arguments")
    ID_FIELD_NUMBER: _ClassVar[int]
    SERVER_LABEL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    server_label: str
    name: str
    arguments: str
    def __init__(self, id: _Optional[str] = ..., server_label: _Optional[str] = ..., name: _Optional[str] = ..., arguments: _Optional[str] = ...) -> None: ...

class McpApprovalResponse(_message.Message):
    __slots__ = ("id", "approval_request_id", "approve", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    approval_request_id: str
    approve: bool
    reason: str
    def __init__(self, id: _Optional[str] = ..., approval_request_id: _Optional[str] = ..., approve: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class FileSearchResult(_message.Message):
    __slots__ = ("file_id", "filename", "score", "text", "attributes")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    filename: str
    score: float
    text: str
    attributes: _struct_pb2.Struct
    def __init__(self, file_id: _Optional[str] = ..., filename: _Optional[str] = ..., score: _Optional[float] = ..., text: _Optional[str] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class FileSearchCall(_message.Message):
    __slots__ = ("id", "queries", "status", "results")
    ID_FIELD_NUMBER: _ClassVar[int]
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    queries: _containers.RepeatedScalarFieldContainer[str]
    status: str
    results: _containers.RepeatedCompositeFieldContainer[FileSearchResult]
    def __init__(self, id: _Optional[str] = ..., queries: _Optional[_Iterable[str]] = ..., status: _Optional[str] = ..., results: _Optional[_Iterable[_Union[FileSearchResult, _Mapping]]] = ...) -> None: ...

class CompactionItem(_message.Message):
    __slots__ = ("id", "encrypted_content", "created_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_CONTENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    encrypted_content: str
    created_by: str
    def __init__(self, id: _Optional[str] = ..., encrypted_content: _Optional[str] = ..., created_by: _Optional[str] = ...) -> None: ...

class CompactionTrigger(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class InputItem(_message.Message):
    __slots__ = ("message", "function_call", "function_call_output", "reasoning", "item_reference", "mcp_list_tools", "mcp_call", "mcp_approval_request", "mcp_approval_response", "file_search_call", "compaction", "compaction_trigger")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_CALL_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_CALL_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    ITEM_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    MCP_LIST_TOOLS_FIELD_NUMBER: _ClassVar[int]
    MCP_CALL_FIELD_NUMBER: _ClassVar[int]
    MCP_APPROVAL_REQUEST_FIELD_NUMBER: _ClassVar[int]
    MCP_APPROVAL_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    FILE_SEARCH_CALL_FIELD_NUMBER: _ClassVar[int]
    COMPACTION_FIELD_NUMBER: _ClassVar[int]
    COMPACTION_TRIGGER_FIELD_NUMBER: _ClassVar[int]
    message: Message
    function_call: FunctionToolCall
    function_call_output: FunctionCallOutput
    reasoning: ReasoningItem
    item_reference: ItemReference
    mcp_list_tools: McpListTools
    mcp_call: McpCall
    mcp_approval_request: McpApprovalRequest
    mcp_approval_response: McpApprovalResponse
    file_search_call: FileSearchCall
    compaction: CompactionItem
    compaction_trigger: CompactionTrigger
    def __init__(self, message: _Optional[_Union[Message, _Mapping]] = ..., function_call: _Optional[_Union[FunctionToolCall, _Mapping]] = ..., function_call_output: _Optional[_Union[FunctionCallOutput, _Mapping]] = ..., reasoning: _Optional[_Union[ReasoningItem, _Mapping]] = ..., item_reference: _Optional[_Union[ItemReference, _Mapping]] = ..., mcp_list_tools: _Optional[_Union[McpListTools, _Mapping]] = ..., mcp_call: _Optional[_Union[McpCall, _Mapping]] = ..., mcp_approval_request: _Optional[_Union[McpApprovalRequest, _Mapping]] = ..., mcp_approval_response: _Optional[_Union[McpApprovalResponse, _Mapping]] = ..., file_search_call: _Optional[_Union[FileSearchCall, _Mapping]] = ..., compaction: _Optional[_Union[CompactionItem, _Mapping]] = ..., compaction_trigger: _Optional[_Union[CompactionTrigger, _Mapping]] = ...) -> None: ...

class InputItemList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[InputItem]
    def __init__(self, items: _Optional[_Iterable[_Union[InputItem, _Mapping]]] = ...) -> None: ...

class Input(_message.Message):
    __slots__ = ("text", "items")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    text: str
    items: InputItemList
    def __init__(self, text: _Optional[str] = ..., items: _Optional[_Union[InputItemList, _Mapping]] = ...) -> None: ...

class OutputItem(_message.Message):
    __slots__ = ("message", "function_call", "reasoning", "mcp_list_tools", "mcp_call", "mcp_approval_request", "file_search_call", "compaction")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_CALL_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    MCP_LIST_TOOLS_FIELD_NUMBER: _ClassVar[int]
    MCP_CALL_FIELD_NUMBER: _ClassVar[int]
    MCP_APPROVAL_REQUEST_FIELD_NUMBER: _ClassVar[int]
    FILE_SEARCH_CALL_FIELD_NUMBER: _ClassVar[int]
    COMPACTION_FIELD_NUMBER: _ClassVar[int]
    message: OutputMessage
    function_call: FunctionToolCall
    reasoning: ReasoningItem
    mcp_list_tools: McpListTools
    mcp_call: McpCall
    mcp_approval_request: McpApprovalRequest
    file_search_call: FileSearchCall
    compaction: CompactionItem
    def __init__(self, message: _Optional[_Union[OutputMessage, _Mapping]] = ..., function_call: _Optional[_Union[FunctionToolCall, _Mapping]] = ..., reasoning: _Optional[_Union[ReasoningItem, _Mapping]] = ..., mcp_list_tools: _Optional[_Union[McpListTools, _Mapping]] = ..., mcp_call: _Optional[_Union[McpCall, _Mapping]] = ..., mcp_approval_request: _Optional[_Union[McpApprovalRequest, _Mapping]] = ..., file_search_call: _Optional[_Union[FileSearchCall, _Mapping]] = ..., compaction: _Optional[_Union[CompactionItem, _Mapping]] = ...) -> None: ...
