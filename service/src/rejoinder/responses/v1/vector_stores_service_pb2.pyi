from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VectorStore(_message.Message):
    __slots__ = ("id", "object", "created_at", "name", "usage_bytes", "file_counts", "status", "expires_after", "expires_at", "last_active_at", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    USAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    FILE_COUNTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AFTER_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ACTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    created_at: int
    name: str
    usage_bytes: int
    file_counts: VectorStoreFileCounts
    status: str
    expires_after: VectorStoreExpiresAfter
    expires_at: int
    last_active_at: int
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., created_at: _Optional[int] = ..., name: _Optional[str] = ..., usage_bytes: _Optional[int] = ..., file_counts: _Optional[_Union[VectorStoreFileCounts, _Mapping]] = ..., status: _Optional[str] = ..., expires_after: _Optional[_Union[VectorStoreExpiresAfter, _Mapping]] = ..., expires_at: _Optional[int] = ..., last_active_at: _Optional[int] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class VectorStoreFileCounts(_message.Message):
    __slots__ = ("in_progress", "completed", "failed", "cancelled", "total")
    IN_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    in_progress: int
    completed: int
    failed: int
    cancelled: int
    total: int
    def __init__(self, in_progress: _Optional[int] = ..., completed: _Optional[int] = ..., failed: _Optional[int] = ..., cancelled: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class VectorStoreExpiresAfter(_message.Message):
    __slots__ = ("anchor", "days")
    ANCHOR_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    anchor: str
    days: int
    def __init__(self, anchor: _Optional[str] = ..., days: _Optional[int] = ...) -> None: ...

class AutoChunkingStrategy(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StaticChunkingStrategy(_message.Message):
    __slots__ = ("max_chunk_size_tokens", "chunk_overlap_tokens")
    MAX_CHUNK_SIZE_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CHUNK_OVERLAP_TOKENS_FIELD_NUMBER: _ClassVar[int]
    max_chunk_size_tokens: int
    chunk_overlap_tokens: int
    def __init__(self, max_chunk_size_tokens: _Optional[int] = ..., chunk_overlap_tokens: _Optional[int] = ...) -> None: ...

class StaticChunkingStrategyObject(_message.Message):
    __slots__ = ("static",)
    STATIC_FIELD_NUMBER: _ClassVar[int]
    static: StaticChunkingStrategy
    def __init__(self, static: _Optional[_Union[StaticChunkingStrategy, _Mapping]] = ...) -> None: ...

class OtherChunkingStrategy(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ChunkingStrategy(_message.Message):
    __slots__ = ("auto", "static", "other")
    AUTO_FIELD_NUMBER: _ClassVar[int]
    STATIC_FIELD_NUMBER: _ClassVar[int]
    OTHER_FIELD_NUMBER: _ClassVar[int]
    auto: AutoChunkingStrategy
    static: StaticChunkingStrategyObject
    other: OtherChunkingStrategy
    def __init__(self, auto: _Optional[_Union[AutoChunkingStrategy, _Mapping]] = ..., static: _Optional[_Union[StaticChunkingStrategyObject, _Mapping]] = ..., other: _Optional[_Union[OtherChunkingStrategy, _Mapping]] = ...) -> None: ...

class VectorStoreFileError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class VectorStoreFile(_message.Message):
    __slots__ = ("id", "object", "created_at", "vector_store_id", "status", "usage_bytes", "last_error", "chunking_strategy", "attributes")
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    USAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    CHUNKING_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    created_at: int
    vector_store_id: str
    status: str
    usage_bytes: int
    last_error: VectorStoreFileError
    chunking_strategy: ChunkingStrategy
    attributes: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., created_at: _Optional[int] = ..., vector_store_id: _Optional[str] = ..., status: _Optional[str] = ..., usage_bytes: _Optional[int] = ..., last_error: _Optional[_Union[VectorStoreFileError, _Mapping]] = ..., chunking_strategy: _Optional[_Union[ChunkingStrategy, _Mapping]] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class VectorStoreFileBatch(_message.Message):
    __slots__ = ("id", "object", "created_at", "vector_store_id", "status", "file_counts")
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FILE_COUNTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    created_at: int
    vector_store_id: str
    status: str
    file_counts: VectorStoreFileCounts
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., created_at: _Optional[int] = ..., vector_store_id: _Optional[str] = ..., status: _Optional[str] = ..., file_counts: _Optional[_Union[VectorStoreFileCounts, _Mapping]] = ...) -> None: ...

class CreateVectorStoreRequest(_message.Message):
    __slots__ = ("name", "file_ids", "chunking_strategy", "expires_after", "metadata", "description")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    FILE_IDS_FIELD_NUMBER: _ClassVar[int]
    CHUNKING_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AFTER_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    file_ids: _containers.RepeatedScalarFieldContainer[str]
    chunking_strategy: ChunkingStrategy
    expires_after: VectorStoreExpiresAfter
    metadata: _containers.ScalarMap[str, str]
    description: str
    def __init__(self, name: _Optional[str] = ..., file_ids: _Optional[_Iterable[str]] = ..., chunking_strategy: _Optional[_Union[ChunkingStrategy, _Mapping]] = ..., expires_after: _Optional[_Union[VectorStoreExpiresAfter, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., description: _Optional[str] = ...) -> None: ...

class CreateVectorStoreResponse(_message.Message):
    __slots__ = ("vector_store",)
    VECTOR_STORE_FIELD_NUMBER: _ClassVar[int]
    vector_store: VectorStore
    def __init__(self, vector_store: _Optional[_Union[VectorStore, _Mapping]] = ...) -> None: ...

class ListVectorStoresRequest(_message.Message):
    __slots__ = ("after", "before", "limit", "order")
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    after: str
    before: str
    limit: int
    order: str
    def __init__(self, after: _Optional[str] = ..., before: _Optional[str] = ..., limit: _Optional[int] = ..., order: _Optional[str] = ...) -> None: ...

class ListVectorStoresResponse(_message.Message):
    __slots__ = ("object", "data", "first_id", "last_id", "has_more")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FIRST_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_ID_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    object: str
    data: _containers.RepeatedCompositeFieldContainer[VectorStore]
    first_id: str
    last_id: str
    has_more: bool
    def __init__(self, object: _Optional[str] = ..., data: _Optional[_Iterable[_Union[VectorStore, _Mapping]]] = ..., first_id: _Optional[str] = ..., last_id: _Optional[str] = ..., has_more: _Optional[bool] = ...) -> None: ...

class GetVectorStoreRequest(_message.Message):
    __slots__ = ("vector_store_id",)
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    vector_store_id: str
    def __init__(self, vector_store_id: _Optional[str] = ...) -> None: ...

class GetVectorStoreResponse(_message.Message):
    __slots__ = ("vector_store",)
    VECTOR_STORE_FIELD_NUMBER: _ClassVar[int]
    vector_store: VectorStore
    def __init__(self, vector_store: _Optional[_Union[VectorStore, _Mapping]] = ...) -> None: ...

class UpdateVectorStoreRequest(_message.Message):
    __slots__ = ("vector_store_id", "name", "expires_after", "metadata", "update_metadata", "clear_expires_after")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AFTER_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    UPDATE_METADATA_FIELD_NUMBER: _ClassVar[int]
    CLEAR_EXPIRES_AFTER_FIELD_NUMBER: _ClassVar[int]
    vector_store_id: str
    name: str
    expires_after: VectorStoreExpiresAfter
    metadata: _containers.ScalarMap[str, str]
    update_metadata: bool
    clear_expires_after: bool
    def __init__(self, vector_store_id: _Optional[str] = ..., name: _Optional[str] = ..., expires_after: _Optional[_Union[VectorStoreExpiresAfter, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., update_metadata: _Optional[bool] = ..., clear_expires_after: _Optional[bool] = ...) -> None: ...

class UpdateVectorStoreResponse(_message.Message):
    __slots__ = ("vector_store",)
    VECTOR_STORE_FIELD_NUMBER: _ClassVar[int]
    vector_store: VectorStore
    def __init__(self, vector_store: _Optional[_Union[VectorStore, _Mapping]] = ...) -> None: ...

class DeleteVectorStoreRequest(_message.Message):
    __slots__ = ("vector_store_id",)
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    vector_store_id: str
    def __init__(self, vector_store_id: _Optional[str] = ...) -> None: ...

class DeleteVectorStoreResponse(_message.Message):
    __slots__ = ("id", "object", "deleted")
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    deleted: bool
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., deleted: _Optional[bool] = ...) -> None: ...

class SearchQueryList(_message.Message):
    __slots__ = ("queries",)
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    queries: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, queries: _Optional[_Iterable[str]] = ...) -> None: ...

class SearchQuery(_message.Message):
    __slots__ = ("text", "list")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LIST_FIELD_NUMBER: _ClassVar[int]
    text: str
    list: SearchQueryList
    def __init__(self, text: _Optional[str] = ..., list: _Optional[_Union[SearchQueryList, _Mapping]] = ...) -> None: ...

class HybridSearchOptions(_message.Message):
    __slots__ = ("embedding_weight", "text_weight")
    EMBEDDING_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    TEXT_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    embedding_weight: float
    text_weight: float
    def __init__(self, embedding_weight: _Optional[float] = ..., text_weight: _Optional[float] = ...) -> None: ...

class RankingOptions(_message.Message):
    __slots__ = ("ranker", "score_threshold", "hybrid_search")
    RANKER_FIELD_NUMBER: _ClassVar[int]
    SCORE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    HYBRID_SEARCH_FIELD_NUMBER: _ClassVar[int]
    ranker: str
    score_threshold: float
    hybrid_search: HybridSearchOptions
    def __init__(self, ranker: _Optional[str] = ..., score_threshold: _Optional[float] = ..., hybrid_search: _Optional[_Union[HybridSearchOptions, _Mapping]] = ...) -> None: ...

class SearchVectorStoreRequest(_message.Message):
    __slots__ = ("vector_store_id", "query", "max_num_results", "filters", "ranking_options", "rewrite_query")
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    MAX_NUM_RESULTS_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    RANKING_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    REWRITE_QUERY_FIELD_NUMBER: _ClassVar[int]
    vector_store_id: str
    query: SearchQuery
    max_num_results: int
    filters: _struct_pb2.Struct
    ranking_options: RankingOptions
    rewrite_query: bool
    def __init__(self, vector_store_id: _Optional[str] = ..., query: _Optional[_Union[SearchQuery, _Mapping]] = ..., max_num_results: _Optional[int] = ..., filters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., ranking_options: _Optional[_Union[RankingOptions, _Mapping]] = ..., rewrite_query: _Optional[bool] = ...) -> None: ...

class SearchResultContent(_message.Message):
    __slots__ = ("type", "text")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    type: str
    text: str
    def __init__(self, type: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class VectorStoreSearchResult(_message.Message):
    __slots__ = ("file_id", "filename", "score", "attributes", "content")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    filename: str
    score: float
    attributes: _struct_pb2.Struct
    content: _containers.RepeatedCompositeFieldContainer[SearchResultContent]
    def __init__(self, file_id: _Optional[str] = ..., filename: _Optional[str] = ..., score: _Optional[float] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., content: _Optional[_Iterable[_Union[SearchResultContent, _Mapping]]] = ...) -> None: ...

class SearchVectorStoreResponse(_message.Message):
    __slots__ = ("object", "search_query", "data", "has_more", "next_page")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    SEARCH_QUERY_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_FIELD_NUMBER: _ClassVar[int]
    object: str
    search_query: _containers.RepeatedScalarFieldContainer[str]
    data: _containers.RepeatedCompositeFieldContainer[VectorStoreSearchResult]
    has_more: bool
    next_page: str
    def __init__(self, object: _Optional[str] = ..., search_query: _Optional[_Iterable[str]] = ..., data: _Optional[_Iterable[_Union[VectorStoreSearchResult, _Mapping]]] = ..., has_more: _Optional[bool] = ..., next_page: _Optional[str] = ...) -> None: ...

class CreateVectorStoreFileRequest(_message.Message):
    __slots__ = ("vector_store_id", "file_id", "attributes", "chunking_strategy")
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CHUNKING_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    vector_store_id: str
    file_id: str
    attributes: _struct_pb2.Struct
    chunking_strategy: ChunkingStrategy
    def __init__(self, vector_store_id: _Optional[str] = ..., file_id: _Optional[str] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., chunking_strategy: _Optional[_Union[ChunkingStrategy, _Mapping]] = ...) -> None: ...

class CreateVectorStoreFileResponse(_message.Message):
    __slots__ = ("file",)
    FILE_FIELD_NUMBER: _ClassVar[int]
    file: VectorStoreFile
    def __init__(self, file: _Optional[_Union[VectorStoreFile, _Mapping]] = ...) -> None: ...

class ListVectorStoreFilesRequest(_message.Message):
    __slots__ = ("vector_store_id", "after", "before", "limit", "order", "filter")
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    vector_store_id: str
    after: str
    before: str
    limit: int
    order: str
    filter: str
    def __init__(self, vector_store_id: _Optional[str] = ..., after: _Optional[str] = ..., before: _Optional[str] = ..., limit: _Optional[int] = ..., order: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListVectorStoreFilesResponse(_message.Message):
    __slots__ = ("object", "data", "first_id", "last_id", "has_more")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FIRST_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_ID_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    object: str
    data: _containers.RepeatedCompositeFieldContainer[VectorStoreFile]
    first_id: str
    last_id: str
    has_more: bool
    def __init__(self, object: _Optional[str] = ..., data: _Optional[_Iterable[_Union[VectorStoreFile, _Mapping]]] = ..., first_id: _Optional[str] = ..., last_id: _Optional[str] = ..., has_more: _Optional[bool] = ...) -> None: ...

class GetVectorStoreFileRequest(_message.Message):
    __slots__ = ("vector_store_id", "file_id")
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    vector_store_id: str
    file_id: str
    def __init__(self, vector_store_id: _Optional[str] = ..., file_id: _Optional[str] = ...) -> None: ...

class GetVectorStoreFileResponse(_message.Message):
    __slots__ = ("file",)
    FILE_FIELD_NUMBER: _ClassVar[int]
    file: VectorStoreFile
    def __init__(self, file: _Optional[_Union[VectorStoreFile, _Mapping]] = ...) -> None: ...

class UpdateVectorStoreFileRequest(_message.Message):
    __slots__ = ("vector_store_id", "file_id", "attributes")
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    vector_store_id: str
    file_id: str
    attributes: _struct_pb2.Struct
    def __init__(self, vector_store_id: _Optional[str] = ..., file_id: _Optional[str] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class UpdateVectorStoreFileResponse(_message.Message):
    __slots__ = ("file",)
    FILE_FIELD_NUMBER: _ClassVar[int]
    file: VectorStoreFile
    def __init__(self, file: _Optional[_Union[VectorStoreFile, _Mapping]] = ...) -> None: ...

class DeleteVectorStoreFileRequest(_message.Message):
    __slots__ = ("vector_store_id", "file_id")
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    vector_store_id: str
    file_id: str
    def __init__(self, vector_store_id: _Optional[str] = ..., file_id: _Optional[str] = ...) -> None: ...

class DeleteVectorStoreFileResponse(_message.Message):
    __slots__ = ("id", "object", "deleted")
    ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    id: str
    object: str
    deleted: bool
    def __init__(self, id: _Optional[str] = ..., object: _Optional[str] = ..., deleted: _Optional[bool] = ...) -> None: ...

class GetVectorStoreFileContentRequest(_message.Message):
    __slots__ = ("vector_store_id", "file_id")
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    vector_store_id: str
    file_id: str
    def __init__(self, vector_store_id: _Optional[str] = ..., file_id: _Optional[str] = ...) -> None: ...

class VectorStoreFileContent(_message.Message):
    __slots__ = ("type", "text")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    type: str
    text: str
    def __init__(self, type: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class GetVectorStoreFileContentResponse(_message.Message):
    __slots__ = ("object", "data", "has_more", "next_page")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_FIELD_NUMBER: _ClassVar[int]
    object: str
    data: _containers.RepeatedCompositeFieldContainer[VectorStoreFileContent]
    has_more: bool
    next_page: str
    def __init__(self, object: _Optional[str] = ..., data: _Optional[_Iterable[_Union[VectorStoreFileContent, _Mapping]]] = ..., has_more: _Optional[bool] = ..., next_page: _Optional[str] = ...) -> None: ...

class VectorStoreFileBatchFile(_message.Message):
    __slots__ = ("file_id", "attributes", "chunking_strategy")
    FILE_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CHUNKING_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    file_id: str
    attributes: _struct_pb2.Struct
    chunking_strategy: ChunkingStrategy
    def __init__(self, file_id: _Optional[str] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., chunking_strategy: _Optional[_Union[ChunkingStrategy, _Mapping]] = ...) -> None: ...

class CreateVectorStoreFileBatchRequest(_message.Message):
    __slots__ = ("vector_store_id", "file_ids", "files", "attributes", "chunking_strategy")
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_IDS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CHUNKING_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    vector_store_id: str
    file_ids: _containers.RepeatedScalarFieldContainer[str]
    files: _containers.RepeatedCompositeFieldContainer[VectorStoreFileBatchFile]
    attributes: _struct_pb2.Struct
    chunking_strategy: ChunkingStrategy
    def __init__(self, vector_store_id: _Optional[str] = ..., file_ids: _Optional[_Iterable[str]] = ..., files: _Optional[_Iterable[_Union[VectorStoreFileBatchFile, _Mapping]]] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., chunking_strategy: _Optional[_Union[ChunkingStrategy, _Mapping]] = ...) -> None: ...

class CreateVectorStoreFileBatchResponse(_message.Message):
    __slots__ = ("batch",)
    BATCH_FIELD_NUMBER: _ClassVar[int]
    batch: VectorStoreFileBatch
    def __init__(self, batch: _Optional[_Union[VectorStoreFileBatch, _Mapping]] = ...) -> None: ...

class GetVectorStoreFileBatchRequest(_message.Message):
    __slots__ = ("vector_store_id", "batch_id")
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    vector_store_id: str
    batch_id: str
    def __init__(self, vector_store_id: _Optional[str] = ..., batch_id: _Optional[str] = ...) -> None: ...

class GetVectorStoreFileBatchResponse(_message.Message):
    __slots__ = ("batch",)
    BATCH_FIELD_NUMBER: _ClassVar[int]
    batch: VectorStoreFileBatch
    def __init__(self, batch: _Optional[_Union[VectorStoreFileBatch, _Mapping]] = ...) -> None: ...

class CancelVectorStoreFileBatchRequest(_message.Message):
    __slots__ = ("vector_store_id", "batch_id")
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    vector_store_id: str
    batch_id: str
    def __init__(self, vector_store_id: _Optional[str] = ..., batch_id: _Optional[str] = ...) -> None: ...

class CancelVectorStoreFileBatchResponse(_message.Message):
    __slots__ = ("batch",)
    BATCH_FIELD_NUMBER: _ClassVar[int]
    batch: VectorStoreFileBatch
    def __init__(self, batch: _Optional[_Union[VectorStoreFileBatch, _Mapping]] = ...) -> None: ...

class ListVectorStoreFileBatchFilesRequest(_message.Message):
    __slots__ = ("vector_store_id", "batch_id", "after", "before", "limit", "order", "filter")
    VECTOR_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    vector_store_id: str
    batch_id: str
    after: str
    before: str
    limit: int
    order: str
    filter: str
    def __init__(self, vector_store_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., after: _Optional[str] = ..., before: _Optional[str] = ..., limit: _Optional[int] = ..., order: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListVectorStoreFileBatchFilesResponse(_message.Message):
    __slots__ = ("object", "data", "first_id", "last_id", "has_more")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FIRST_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_ID_FIELD_NUMBER: _ClassVar[int]
    HAS_MORE_FIELD_NUMBER: _ClassVar[int]
    object: str
    data: _containers.RepeatedCompositeFieldContainer[VectorStoreFile]
    first_id: str
    last_id: str
    has_more: bool
    def __init__(self, object: _Optional[str] = ..., data: _Optional[_Iterable[_Union[VectorStoreFile, _Mapping]]] = ..., first_id: _Optional[str] = ..., last_id: _Optional[str] = ..., has_more: _Optional[bool] = ...) -> None: ...
