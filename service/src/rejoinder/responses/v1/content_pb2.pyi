from google.api import field_behavior_pb2 as _field_behavior_pb2
from rejoinder.responses.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InputText(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class InputImage(_message.Message):
    __slots__ = ("detail", "file_id", "image_url")
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    detail: str
    file_id: str
    image_url: str
    def __init__(self, detail: _Optional[str] = ..., file_id: _Optional[str] = ..., image_url: _Optional[str] = ...) -> None: ...

class InputFile(_message.Message):
    __slots__ = ("file_id", "file_url", "file_data", "filename", "detail")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_URL_FIELD_NUMBER: _ClassVar[int]
    FILE_DATA_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    file_url: str
    file_data: str
    filename: str
    detail: str
    def __init__(self, file_id: _Optional[str] = ..., file_url: _Optional[str] = ..., file_data: _Optional[str] = ..., filename: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class TopLogprob(_message.Message):
    __slots__ = ("token", "bytes", "logprob")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    LOGPROB_FIELD_NUMBER: _ClassVar[int]
    token: str
    bytes: _containers.RepeatedScalarFieldContainer[int]
    logprob: float
    def __init__(self, token: _Optional[str] = ..., bytes: _Optional[_Iterable[int]] = ..., logprob: _Optional[float] = ...) -> None: ...

class Logprob(_message.Message):
    __slots__ = ("token", "bytes", "logprob", "top_logprobs")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    LOGPROB_FIELD_NUMBER: _ClassVar[int]
    TOP_LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    token: str
    bytes: _containers.RepeatedScalarFieldContainer[int]
    logprob: float
    top_logprobs: _containers.RepeatedCompositeFieldContainer[TopLogprob]
    def __init__(self, token: _Optional[str] = ..., bytes: _Optional[_Iterable[int]] = ..., logprob: _Optional[float] = ..., top_logprobs: _Optional[_Iterable[_Union[TopLogprob, _Mapping]]] = ...) -> None: ...

class UrlCitation(_message.Message):
    __slots__ = ("end_index", "start_index", "title", "url")
    END_INDEX_FIELD_NUMBER: _ClassVar[int]
    START_INDEX_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    end_index: int
    start_index: int
    title: str
    url: str
    def __init__(self, end_index: _Optional[int] = ..., start_index: _Optional[int] = ..., title: _Optional[str] = ..., url: _Optional[str] = ...) -> None: ...

class FileCitation(_message.Message):
    __slots__ = ("file_id", "filename", "index")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    filename: str
    index: int
    def __init__(self, file_id: _Optional[str] = ..., filename: _Optional[str] = ..., index: _Optional[int] = ...) -> None: ...

class ContainerFileCitation(_message.Message):
    __slots__ = ("container_id", "end_index", "file_id", "filename", "start_index")
    CONTAINER_ID_FIELD_NUMBER: _ClassVar[int]
    END_INDEX_FIELD_NUMBER: _ClassVar[int]
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    START_INDEX_FIELD_NUMBER: _ClassVar[int]
    container_id: str
    end_index: int
    file_id: str
    filename: str
    start_index: int
    def __init__(self, container_id: _Optional[str] = ..., end_index: _Optional[int] = ..., file_id: _Optional[str] = ..., filename: _Optional[str] = ..., start_index: _Optional[int] = ...) -> None: ...

class FilePath(_message.Message):
    __slots__ = ("file_id", "index")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    index: int
    def __init__(self, file_id: _Optional[str] = ..., index: _Optional[int] = ...) -> None: ...

class Annotation(_message.Message):
    __slots__ = ("url_citation", "file_citation", "container_file_citation", "file_path")
    URL_CITATION_FIELD_NUMBER: _ClassVar[int]
    FILE_CITATION_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FILE_CITATION_FIELD_NUMBER: _ClassVar[int]
    FILE_PATH_FIELD_NUMBER: _ClassVar[int]
    url_citation: UrlCitation
    file_citation: FileCitation
    container_file_citation: ContainerFileCitation
    file_path: FilePath
    def __init__(self, url_citation: _Optional[_Union[UrlCitation, _Mapping]] = ..., file_citation: _Optional[_Union[FileCitation, _Mapping]] = ..., container_file_citation: _Optional[_Union[ContainerFileCitation, _Mapping]] = ..., file_path: _Optional[_Union[FilePath, _Mapping]] = ...) -> None: ...

class OutputText(_message.Message):
    __slots__ = ("annotations", "text", "logprobs")
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    annotations: _containers.RepeatedCompositeFieldContainer[Annotation]
    text: str
    logprobs: _containers.RepeatedCompositeFieldContainer[Logprob]
    def __init__(self, annotations: _Optional[_Iterable[_Union[Annotation, _Mapping]]] = ..., text: _Optional[str] = ..., logprobs: _Optional[_Iterable[_Union[Logprob, _Mapping]]] = ...) -> None: ...

class Refusal(_message.Message):
    __slots__ = ("refusal",)
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    refusal: str
    def __init__(self, refusal: _Optional[str] = ...) -> None: ...

class ReasoningText(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class SummaryText(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class Content(_message.Message):
    __slots__ = ("input_text", "input_image", "input_file", "output_text", "refusal")
    INPUT_TEXT_FIELD_NUMBER: _ClassVar[int]
    INPUT_IMAGE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FILE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TEXT_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    input_text: InputText
    input_image: InputImage
    input_file: InputFile
    output_text: OutputText
    refusal: Refusal
    def __init__(self, input_text: _Optional[_Union[InputText, _Mapping]] = ..., input_image: _Optional[_Union[InputImage, _Mapping]] = ..., input_file: _Optional[_Union[InputFile, _Mapping]] = ..., output_text: _Optional[_Union[OutputText, _Mapping]] = ..., refusal: _Optional[_Union[Refusal, _Mapping]] = ...) -> None: ...

class ContentList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Content]
    def __init__(self, items: _Optional[_Iterable[_Union[Content, _Mapping]]] = ...) -> None: ...

class MessageContent(_message.Message):
    __slots__ = ("text", "parts")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    text: str
    parts: ContentList
    def __init__(self, text: _Optional[str] = ..., parts: _Optional[_Union[ContentList, _Mapping]] = ...) -> None: ...

class OutputContent(_message.Message):
    __slots__ = ("output_text", "refusal")
    OUTPUT_TEXT_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    output_text: OutputText
    refusal: Refusal
    def __init__(self, output_text: _Optional[_Union[OutputText, _Mapping]] = ..., refusal: _Optional[_Union[Refusal, _Mapping]] = ...) -> None: ...

class StreamedContent(_message.Message):
    __slots__ = ("output_text", "refusal", "reasoning_text")
    OUTPUT_TEXT_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    REASONING_TEXT_FIELD_NUMBER: _ClassVar[int]
    output_text: OutputText
    refusal: Refusal
    reasoning_text: ReasoningText
    def __init__(self, output_text: _Optional[_Union[OutputText, _Mapping]] = ..., refusal: _Optional[_Union[Refusal, _Mapping]] = ..., reasoning_text: _Optional[_Union[ReasoningText, _Mapping]] = ...) -> None: ...

class FunctionOutputContent(_message.Message):
    __slots__ = ("input_text", "input_image", "input_file")
    INPUT_TEXT_FIELD_NUMBER: _ClassVar[int]
    INPUT_IMAGE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FILE_FIELD_NUMBER: _ClassVar[int]
    input_text: InputText
    input_image: InputImage
    input_file: InputFile
    def __init__(self, input_text: _Optional[_Union[InputText, _Mapping]] = ..., input_image: _Optional[_Union[InputImage, _Mapping]] = ..., input_file: _Optional[_Union[InputFile, _Mapping]] = ...) -> None: ...

class FunctionOutputContentList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[FunctionOutputContent]
    def __init__(self, items: _Optional[_Iterable[_Union[FunctionOutputContent, _Mapping]]] = ...) -> None: ...

class FunctionOutput(_message.Message):
    __slots__ = ("text", "parts")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    text: str
    parts: FunctionOutputContentList
    def __init__(self, text: _Optional[str] = ..., parts: _Optional[_Union[FunctionOutputContentList, _Mapping]] = ...) -> None: ...
