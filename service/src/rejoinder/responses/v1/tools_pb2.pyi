from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from rejoinder.responses.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FunctionTool(_message.Message):
    __slots__ = ("name", "description", "parameters", "strict")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    STRICT_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    parameters: str
    strict: bool
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., parameters: _Optional[str] = ..., strict: _Optional[bool] = ...) -> None: ...

class ToolNameList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, items: _Optional[_Iterable[str]] = ...) -> None: ...

class McpToolFilter(_message.Message):
    __slots__ = ("tool_names", "read_only")
    TOOL_NAMES_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    tool_names: _containers.RepeatedScalarFieldContainer[str]
    read_only: bool
    def __init__(self, tool_names: _Optional[_Iterable[str]] = ..., read_only: _Optional[bool] = ...) -> None: ...

class McpAllowedTools(_message.Message):
    __slots__ = ("names", "filter")
    NAMES_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    names: ToolNameList
    filter: McpToolFilter
    def __init__(self, names: _Optional[_Union[ToolNameList, _Mapping]] = ..., filter: _Optional[_Union[McpToolFilter, _Mapping]] = ...) -> None: ...

class McpApprovalFilter(_message.Message):
    __slots__ = ("always", "never")
    ALWAYS_FIELD_NUMBER: _ClassVar[int]
    NEVER_FIELD_NUMBER: _ClassVar[int]
    always: McpToolFilter
    never: McpToolFilter
    def __init__(self, always: _Optional[_Union[McpToolFilter, _Mapping]] = ..., never: _Optional[_Union[McpToolFilter, _Mapping]] = ...) -> None: ...

class McpRequireApproval(_message.Message):
    __slots__ = ("mode", "filter")
    MODE_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    mode: str
    filter: McpApprovalFilter
    def __init__(self, mode: _Optional[str] = ..., filter: _Optional[_Union[McpApprovalFilter, _Mapping]] = ...) -> None: ...

class McpTool(_message.Message):
    __slots__ = ("server_label", "server_url", "connector_id", "authorization", "headers", "allowed_tools", "require_approval", "server_description")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SERVER_LABEL_FIELD_NUMBER: _ClassVar[int]
    SERVER_URL_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZATION_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_TOOLS_FIELD_NUMBER: _ClassVar[int]
    REQUIRE_APPROVAL_FIELD_NUMBER: _ClassVar[int]
    SERVER_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    server_label: str
    server_url: str
    connector_id: str
    authorization: str
    headers: _containers.ScalarMap[str, str]
    allowed_tools: McpAllowedTools
    require_approval: McpRequireApproval
    server_description: str
    def __init__(self, server_label: _Optional[str] = ..., server_url: _Optional[str] = ..., connector_id: _Optional[str] = ..., authorization: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., allowed_tools: _Optional[_Union[McpAllowedTools, _Mapping]] = ..., require_approval: _Optional[_Union[McpRequireApproval, _Mapping]] = ..., server_description: _Optional[str] = ...) -> None: ...

class CustomToolFormat(_message.Message):
    __slots__ = ("text", "grammar")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    GRAMMAR_FIELD_NUMBER: _ClassVar[int]
    text: CustomToolTextFormat
    grammar: CustomToolGrammarFormat
    def __init__(self, text: _Optional[_Union[CustomToolTextFormat, _Mapping]] = ..., grammar: _Optional[_Union[CustomToolGrammarFormat, _Mapping]] = ...) -> None: ...

class CustomToolTextFormat(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CustomToolGrammarFormat(_message.Message):
    __slots__ = ("definition", "syntax")
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    SYNTAX_FIELD_NUMBER: _ClassVar[int]
    definition: str
    syntax: str
    def __init__(self, definition: _Optional[str] = ..., syntax: _Optional[str] = ...) -> None: ...

class CustomTool(_message.Message):
    __slots__ = ("name", "description", "format")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    format: CustomToolFormat
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., format: _Optional[_Union[CustomToolFormat, _Mapping]] = ...) -> None: ...

class FileSearchTool(_message.Message):
    __slots__ = ("vector_store_ids", "max_num_results", "filters", "ranking_options")
    VECTOR_STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    MAX_NUM_RESULTS_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    RANKING_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    vector_store_ids: _containers.RepeatedScalarFieldContainer[str]
    max_num_results: int
    filters: _struct_pb2.Struct
    ranking_options: _struct_pb2.Struct
    def __init__(self, vector_store_ids: _Optional[_Iterable[str]] = ..., max_num_results: _Optional[int] = ..., filters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., ranking_options: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class WebSearchTool(_message.Message):
    __slots__ = ("search_context_size", "user_location", "filters")
    SEARCH_CONTEXT_SIZE_FIELD_NUMBER: _ClassVar[int]
    USER_LOCATION_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    search_context_size: str
    user_location: _struct_pb2.Struct
    filters: _struct_pb2.Struct
    def __init__(self, search_context_size: _Optional[str] = ..., user_location: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., filters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Tool(_message.Message):
    __slots__ = ("function", "mcp", "custom", "file_search", "web_search", "web_search_preview")
    FUNCTION_FIELD_NUMBER: _ClassVar[int]
    MCP_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_FIELD_NUMBER: _ClassVar[int]
    FILE_SEARCH_FIELD_NUMBER: _ClassVar[int]
    WEB_SEARCH_FIELD_NUMBER: _ClassVar[int]
    WEB_SEARCH_PREVIEW_FIELD_NUMBER: _ClassVar[int]
    function: FunctionTool
    mcp: McpTool
    custom: CustomTool
    file_search: FileSearchTool
    web_search: WebSearchTool
    web_search_preview: WebSearchTool
    def __init__(self, function: _Optional[_Union[FunctionTool, _Mapping]] = ..., mcp: _Optional[_Union[McpTool, _Mapping]] = ..., custom: _Optional[_Union[CustomTool, _Mapping]] = ..., file_search: _Optional[_Union[FileSearchTool, _Mapping]] = ..., web_search: _Optional[_Union[WebSearchTool, _Mapping]] = ..., web_search_preview: _Optional[_Union[WebSearchTool, _Mapping]] = ...) -> None: ...

class ToolChoiceFunction(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ToolChoiceMcp(_message.Message):
    __slots__ = ("server_label", "name")
    SERVER_LABEL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    server_label: str
    name: str
    def __init__(self, server_label: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class ToolChoiceCustom(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ToolChoiceTypes(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ToolChoiceAllowedTools(_message.Message):
    __slots__ = ("mode", "tools")
    MODE_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    mode: str
    tools: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    def __init__(self, mode: _Optional[str] = ..., tools: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ...) -> None: ...

class ToolChoice(_message.Message):
    __slots__ = ("mode", "function", "allowed_tools", "mcp", "custom", "file_search")
    MODE_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_TOOLS_FIELD_NUMBER: _ClassVar[int]
    MCP_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_FIELD_NUMBER: _ClassVar[int]
    FILE_SEARCH_FIELD_NUMBER: _ClassVar[int]
    mode: str
    function: ToolChoiceFunction
    allowed_tools: ToolChoiceAllowedTools
    mcp: ToolChoiceMcp
    custom: ToolChoiceCustom
    file_search: ToolChoiceTypes
    def __init__(self, mode: _Optional[str] = ..., function: _Optional[_Union[ToolChoiceFunction, _Mapping]] = ..., allowed_tools: _Optional[_Union[ToolChoiceAllowedTools, _Mapping]] = ..., mcp: _Optional[_Union[ToolChoiceMcp, _Mapping]] = ..., custom: _Optional[_Union[ToolChoiceCustom, _Mapping]] = ..., file_search: _Optional[_Union[ToolChoiceTypes, _Mapping]] = ...) -> None: ...
