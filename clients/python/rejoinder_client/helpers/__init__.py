"""Hand-written helpers over the generated client (the rest of `rejoinder_client` is generated):

- `sync_channel` / `async_channel`: a channel with the API key on every call and TLS options, for the
  sync (grpcio, `XStub`) and async (grpclib, `XAsyncStub`) stubs;
- `stream_create` / `stream_get`: a response's events as they arrive, then the finished response;
- `status_of`: a failed call's code, message, `ErrorInfo` and field violations;
- `output_text`: the text a response wrote.
"""

from .channels import Tls, async_channel, sync_channel
from .errors import RichStatus, StatusDetailsCodec, status_of
from .streams import AsyncResponseStream, IncompleteStreamError, ResponseStream, stream_create, stream_get
from .text import output_text

__all__ = [
    "AsyncResponseStream",
    "IncompleteStreamError",
    "ResponseStream",
    "RichStatus",
    "StatusDetailsCodec",
    "Tls",
    "async_channel",
    "output_text",
    "status_of",
    "stream_create",
    "stream_get",
    "sync_channel",
]
