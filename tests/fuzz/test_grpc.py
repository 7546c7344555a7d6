"""Typed gRPC, directly and through Envoy's listener: every method of `ResponsesService`,
`ConversationsService` and (called natively) `OpenAIHttpService`, with requests decoded by the
service's own codec from the same generated JSON (where it decodes; an HttpBody carries the JSON
itself) or filled at random from the descriptors; then raw bytes that are not valid protobuf sent to
every method the server registers.
"""

from __future__ import annotations

import grpc
import httpx
from google.api import httpbody_pb2
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from hypothesis import event, given
from hypothesis import strategies as st

from rejoinder.responses.v1 import (
    conversations_service_pb2,
    files_service_pb2,
    openai_http_pb2,
    prompts_service_pb2,
    responses_service_pb2,
)
from rejoinder.wire.openai_json import OpenAIJson
from tests.fuzz.checks import INTERNAL_FAILURE, check_grpc_status, finding
from tests.fuzz.harness import ServiceWatch, fresh_ids, fuzz, grpc_call
from tests.fuzz.jsontext import Shown, dumps, materialize
from tests.fuzz.mutate import mutated
from tests.fuzz.protos import garbage, proto_message
from tests.fuzz.shapes import Env, Shapes

TYPED = (
    responses_service_pb2.DESCRIPTOR.services_by_name["ResponsesService"],
    conversations_service_pb2.DESCRIPTOR.services_by_name["ConversationsService"],
    files_service_pb2.DESCRIPTOR.services_by_name["FilesService"],
    prompts_service_pb2.DESCRIPTOR.services_by_name["PromptsService"],
    openai_http_pb2.DESCRIPTOR.services_by_name["OpenAIHttpService"],  # callable over gRPC too
)
# The REST handlers that take a whole HttpBody: the JSON of this request message goes in its `data`.
HTTP_BODY_OF = {
    "CreateResponse": responses_service_pb2.CreateRequest.DESCRIPTOR,
    "CreateConversation": conversations_service_pb2.CreateConversationRequest.DESCRIPTOR,
    "CreatePrompt": prompts_service_pb2.CreatePromptRequest.DESCRIPTOR,
}
# Health/Watch is left out: it streams health changes for as long as the caller listens, by design.
EVERY = (
    *TYPED,
    openai_http_pb2.DESCRIPTOR.services_by_name["OpenAIHttpService"],
    health_pb2.DESCRIPTOR.services_by_name["Health"],
    reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"],
)


def _methods(services: tuple[object, ...]) -> list[MethodDescriptor]:
    return [m for s in services for m in s.methods if m.full_name != "grpc.health.v1.Health.Watch"]  # type: ignore[attr-defined]


def _path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


_CODEC = OpenAIJson()
_ID_FIELDS = ("response_id", "conversation_id", "item_id", "file_id")


@st.composite
def typed_request(draw: st.DrawFn, method: MethodDescriptor, shapes: Shapes, env: Env) -> tuple[Message, str]:
    """The method's request: generated OpenAI JSON decoded by the codec, else a random message."""
    cls = _CODEC.plan(method.input_type).cls
    if method.name in HTTP_BODY_OF:
        body = draw(mutated(shapes.body(HTTP_BODY_OF[method.name])))
        return httpbody_pb2.HttpBody(content_type="application/json", data=dumps(env.safe(body))), "json"
    if draw(st.integers(0, 2)):
        body = draw(mutated(shapes.body(method.input_type), max_mutations=1))
        try:
            return _CODEC.decode(materialize(env.safe(body)), cls), "codec"
        except Exception:
            pass
    message = draw(proto_message(method.input_type))
    for field in _ID_FIELDS:
        if field in method.input_type.fields_by_name and draw(st.booleans()):
            setattr(message, field, draw(st.sampled_from(env.ids)))
    return message, "random"


def _spare_known_ids(message: Message, method: MethodDescriptor, rest: httpx.Client, env: Env) -> None:
    """A delete of a known object deletes a fresh one of its kind instead (see `fresh_ids`)."""
    fields = [f for f in _ID_FIELDS if f in method.input_type.fields_by_name]
    for name, value in zip(
        fields, fresh_ids(rest, env.ids, [getattr(message, f) for f in fields]), strict=True
    ):
        setattr(message, name, value)


def _check_replies(replies: list[bytes], method: str, case: dict[str, object]) -> None:
    if any(INTERNAL_FAILURE.encode() in reply for reply in replies):
        finding(f"grpc failed response {method}", "a response failed with the internal error", case)


@fuzz()
@given(data=st.data())
def test_typed_requests(
    data: st.DataObject,
    channels: dict[str, grpc.Channel],
    rest: httpx.Client,
    shapes: Shapes,
    env: Env,
    watch: ServiceWatch,
) -> None:
    """No UNKNOWN/INTERNAL, no hang, whatever the (well-formed) request."""
    target = data.draw(st.sampled_from(sorted(channels)), label="target")
    method = data.draw(st.sampled_from(_methods(TYPED)), label="method")
    request, source = data.draw(
        typed_request(method, shapes, env).map(lambda r: (Shown(r[0]), r[1])), label="request"
    )
    if method.name.startswith("Delete"):
        _spare_known_ids(request.value, method, rest, env)
    raw = request.value.SerializeToString()
    code, message, elapsed, replies = grpc_call(
        channels[target],
        _path(method),
        raw,
        server_streaming=method.server_streaming,
        client_streaming=method.client_streaming,
    )
    event(f"{method.name}: {code.name}")
    case = {
        "target": target,
        "method": _path(method),
        "source": source,
        "request": request,
        "bytes": raw[:2000],
    }
    watch.check(case)
    check_grpc_status(code, message, elapsed, _path(method), case)
    _check_replies(replies, _path(method), case)


@fuzz()
@given(data=st.data())
def test_raw_bytes(data: st.DataObject, channels: dict[str, grpc.Channel], watch: ServiceWatch) -> None:
    """Bytes that are not valid protobuf, to every method the server registers: a clean status."""
    target = data.draw(st.sampled_from(sorted(channels)), label="target")
    method = data.draw(st.sampled_from(_methods(EVERY)), label="method")
    raw = data.draw(garbage(), label="bytes")
    code, message, elapsed, _replies = grpc_call(
        channels[target],
        _path(method),
        raw,
        server_streaming=method.server_streaming,
        client_streaming=method.client_streaming,
    )
    event(f"{method.name}: {code.name}")
    case = {"target": target, "method": _path(method), "bytes": raw[:2000]}
    watch.check(case)
    check_grpc_status(code, message, elapsed, _path(method), case)
