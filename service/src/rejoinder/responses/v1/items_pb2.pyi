from google.api import field_behavior_pb2 as _field_behavior_pb2
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

class InputItem(_message.Message):
    __slots__ = ("message", "function_call", "function_call_output", "reasoning", "item_reference")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_CALL_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_CALL_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    ITEM_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    message: Message
    function_call: FunctionToolCall
    function_call_output: FunctionCallOutput
    reasoning: ReasoningItem
    item_reference: ItemReference
    def __init__(self, message: _Optional[_Union[Message, _Mapping]] = ..., function_call: _Optional[_Union[FunctionToolCall, _Mapping]] = ..., function_call_output: _Optional[_Union[FunctionCallOutput, _Mapping]] = ..., reasoning: _Optional[_Union[ReasoningItem, _Mapping]] = ..., item_reference: _Optional[_Union[ItemReference, _Mapping]] = ...) -> None: ...

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
    __slots__ = ("message", "function_call", "reasoning")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_CALL_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    message: OutputMessage
    function_call: FunctionToolCall
    reasoning: ReasoningItem
    def __init__(self, message: _Optional[_Union[OutputMessage, _Mapping]] = ..., function_call: _Optional[_Union[FunctionToolCall, _Mapping]] = ..., reasoning: _Optional[_Union[ReasoningItem, _Mapping]] = ...) -> None: ...
