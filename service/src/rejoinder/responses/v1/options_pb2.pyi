from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
OPENAI_TYPE_FIELD_NUMBER: _ClassVar[int]
openai_type: _descriptor.FieldDescriptor
OPENAI_UNTYPED_FIELD_NUMBER: _ClassVar[int]
openai_untyped: _descriptor.FieldDescriptor
OPENAI_OMIT_UNSET_FIELD_NUMBER: _ClassVar[int]
openai_omit_unset: _descriptor.FieldDescriptor
OPENAI_JSON_FIELD_NUMBER: _ClassVar[int]
openai_json: _descriptor.FieldDescriptor
OPENAI_JSON_VALUE_FIELD_NUMBER: _ClassVar[int]
openai_json_value: _descriptor.FieldDescriptor
OPENAI_NULL_WHEN_EMPTY_FIELD_NUMBER: _ClassVar[int]
openai_null_when_empty: _descriptor.FieldDescriptor
OPENAI_DEFAULT_TYPE_FIELD_NUMBER: _ClassVar[int]
openai_default_type: _descriptor.FieldDescriptor
OPENAI_OBJECT_TYPE_FIELD_NUMBER: _ClassVar[int]
openai_object_type: _descriptor.FieldDescriptor
