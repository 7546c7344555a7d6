"""What Envoy says by itself, in OpenAI's words: its local replies and the Lua response filter.

A REST client must never read Envoy's or the transcoder's own wording ("Could not resolve /health to a
method.", "invalid value for type TYPE_INT32", "the transcoder's internal buffer", "no healthy upstream").
`local_reply_config` gives each of Envoy's replies OpenAI's error shape and a message a person can act on;
a query parameter the transcoder could not read is marked with a header, and the Lua filter (which sees
the reply after that) rewrites it into OpenAI's invalid-type error naming the parameter.

A request is REST when the transcoder took it (it then carries `x-envoy-original-path`, while its
content-type already says gRPC) or when its content-type is not gRPC; native gRPC callers keep Envoy's
plain grpc-message.
"""

from __future__ import annotations

from typing import Any

ORIGINAL_PATH_METADATA = "x-envoy-original-path"
QUERY_ERROR_HEADER = "x-rejoinder-query-error"
HEADERS_TOO_LARGE = "Request headers too large: the path, query and headers may hold at most 60 KiB."

# The filter of DESIGN.md section 3, plus: a native gRPC reply (content-type application/grpc; a
# transcoded reply never has it) keeps its headers, else a trailers-only error such as UNIMPLEMENTED
# would lose `grpc-status` and reach the client as UNKNOWN "No status received"; and the rewrite of a
# query parameter the transcoder could not read (only replies marked by `local_reply_config` pay for it).
LUA_RESPONSE_FILTER = r"""
local KINDS = {INT32 = "an integer", INT64 = "an integer", UINT32 = "an integer", UINT64 = "an integer",
  SINT32 = "an integer", SINT64 = "an integer", BOOL = "a boolean (true or false)", DOUBLE = "a number",
  FLOAT = "a number"}

local function query_error(h)
  local body = h:body()
  local text = body:getBytes(0, body:length())
  local name, value, kind = string.match(text, '([%w_]+): invalid value \\"(.-)\\" for type TYPE_([%u%d]+)')
  local message, param, code = "The request's query parameters could not be read.", "null", "null"
  if name ~= nil then
    message = string.format("Invalid '%s': expected %s", name, KINDS[kind] or "another type")
    if string.find(value, "^[%w%-%.%+_:]*$") ~= nil then  -- echoed only when plain (no escapes, ASCII)
      if #value > 64 then value = string.sub(value, 1, 64) .. "..." end
      message = message .. string.format(", but got '%s' instead", value)
    end
    message, param, code = message .. ".", '"' .. name .. '"', '"invalid_type"'
  end
  body:setBytes(string.format(
    '{"error":{"message":"%s","type":"invalid_request_error","param":%s,"code":%s}}', message, param, code))
end

function envoy_on_response(h)
  local headers = h:headers()
  if string.sub(headers:get("content-type") or "", 1, 16) == "application/grpc" then return end
  local s = headers:get("x-http-status")
  if s ~= nil then headers:replace(":status", s) end
  for _, k in ipairs({"x-http-status","grpc-status","grpc-message","grpc-accept-encoding"}) do
    headers:remove(k)
  end
  if headers:get("__QUERY_ERROR_HEADER__") ~= nil then
    headers:remove("__QUERY_ERROR_HEADER__")
    query_error(h)
  end
end
""".replace("__QUERY_ERROR_HEADER__", QUERY_ERROR_HEADER)


HEALTH_PATHS = "^/(healthz|readyz)$"


def _error_body(message: str, error_type: str, code: str | None = None) -> dict[str, Any]:
    """OpenAI's error object; JSON `null` in a bootstrap becomes a Struct null_value that Envoy prints."""
    error = {"message": message, "type": error_type, "param": None, "code": code}
    return {"json_format": {"error": error}, "content_type": "application/json"}


def _header_filter(matcher: dict[str, Any]) -> dict[str, Any]:
    return {"header_filter": {"header": matcher}}


def _status(op: str, value: int) -> dict[str, Any]:
    runtime = {"default_value": value, "runtime_key": f"rejoinder.local_reply.status_{op.lower()}_{value}"}
    return {"status_code_filter": {"comparison": {"op": op, "value": runtime}}}


def _rest() -> dict[str, Any]:
    transcoded = {"name": ORIGINAL_PATH_METADATA, "present_match": True}
    not_grpc = {
        "name": "content-type",
        "string_match": {"prefix": "application/grpc"},
        "invert_match": True,
        "treat_missing_header_as_empty": True,
    }
    return {"or_filter": {"filters": [_header_filter(transcoded), _header_filter(not_grpc)]}}


def _mapper(status: dict[str, Any] | None, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    rest = _rest()
    matches = rest if status is None else {"and_filter": {"filters": [rest, status]}}
    return {"filter": matches, "body_format_override": body, **extra}


def _header(key: str, value: str) -> dict[str, Any]:
    return {"header": {"key": key, "value": value}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}


def _health(status: dict[str, Any] | None, text: str) -> dict[str, Any]:
    """The answer of Envoy's health routes (`/healthz`, `/readyz`): a word, for people and probes."""
    path = {"name": ":path", "string_match": {"safe_regex": {"regex": HEALTH_PATHS}}}
    matches = _header_filter(path)
    if status is not None:
        matches = {"and_filter": {"filters": [matches, status]}}
    plain = {"text_format": "%LOCAL_REPLY_BODY%", "content_type": "text/plain; charset=utf-8"}
    return {"filter": matches, "body": {"inline_string": text}, "body_format_override": plain}


def local_reply_config(max_request_body_bytes: int) -> dict[str, Any]:
    """Envoy's own HTTP errors in OpenAI's shape and words (the first mapper that matches applies)."""
    invalid, server = "invalid_request_error", "server_error"
    too_large = (
        f"Request too large: the body is over this server's limit of {max_request_body_bytes} bytes "
        "([limits] max_request_body_bytes)."
    )
    return {
        "mappers": [
            _health(_status("EQ", 200), "ok\n"),
            _health(None, "unavailable\n"),
            _mapper(
                _status("EQ", 404), _error_body("Invalid URL (%REQ(:METHOD)% %REQ(:PATH):120%)", invalid)
            ),
            _mapper(_status("EQ", 413), _error_body(too_large, invalid, "request_too_large")),
            _mapper(_status("EQ", 431), _error_body(HEADERS_TOO_LARGE, invalid, "request_too_large")),
            _mapper(
                _status("EQ", 400),
                _error_body("%LOCAL_REPLY_BODY%", invalid),
                headers_to_add=[_header(QUERY_ERROR_HEADER, "1")],
            ),
            _mapper(
                _status("EQ", 503),
                _error_body("The service is unavailable right now; retry shortly.", server),
                headers_to_add=[_header("retry-after", "1")],
            ),
            _mapper(_status("EQ", 504), _error_body("The service did not answer in time.", server)),
            _mapper(
                _status("GE", 500),
                _error_body("The service could not answer (HTTP %RESPONSE_CODE%).", server),
            ),
            _mapper(None, _error_body("The request could not be served (HTTP %RESPONSE_CODE%).", invalid)),
        ]
    }
