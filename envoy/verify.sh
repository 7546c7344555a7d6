#!/usr/bin/env bash
# Smoke test of a running Rejoinder edge: curl every OpenAI route through Envoy and check the status,
# the content type, OpenAI's error shape, the echoed x-request-id and that no grpc-* header leaks.
#
#   envoy/verify.sh [BASE_URL]          default http://127.0.0.1:8080
#   VERIFY_MODEL=name envoy/verify.sh   create responses with this model (default: the first model
#                                       GET /v1/models lists, else "verify-model"); if the service
#                                       refuses it, only the clean 4xx/5xx error shape is checked
#
# Needs bash and curl only. Exits non-zero when any check fails.
set -uo pipefail

BASE="${1:-http://127.0.0.1:8080}"
BASE="${BASE%/}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
FAILURES=0
N=0
STATUS=""
CTYPE=""

header() { # NAME -> the last value of that header in the last reply
  grep -i "^$1:" "$TMP/headers" | tail -n 1 | cut -d' ' -f2- | tr -d '\r'
}

request() { # METHOD PATH [JSON_BODY] [EXTRA CURL ARGS...]
  local method="$1" path="$2" body="${3-}"
  shift $(($# < 3 ? $# : 3))
  N=$((N + 1))
  local args=(-sS -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' --max-time 30 -X "$method"
    -H "authorization: Bearer verify" -H "x-request-id: verify-$$-$N")
  [[ -n "$body" ]] && args+=(-H "content-type: application/json" --data-binary "$body")
  STATUS="$(curl "${args[@]}" "$@" "$BASE$path")" || STATUS="000"
  CTYPE="$(header content-type)"
}

fail() {
  echo "FAIL $1"
  head -c 400 "$TMP/body" 2>/dev/null
  echo
  FAILURES=$((FAILURES + 1))
}

check() { # NAME STATUS_REGEX CONTENT_TYPE_PREFIX
  local name="$1" want_status="$2" want_type="$3"
  if [[ ! "$STATUS" =~ ^($want_status)$ || "$CTYPE" != "$want_type"* ]]; then
    fail "$name: got $STATUS '$CTYPE', want $want_status '$want_type'"
  elif [[ "$(header x-request-id)" != "verify-$$-$N" ]]; then
    fail "$name: x-request-id not echoed"
  elif grep -qiE '^(grpc-[a-z-]+|x-http-status):' "$TMP/headers"; then
    fail "$name: gRPC headers leaked: $(grep -iE '^(grpc-|x-http-status)' "$TMP/headers" | tr -d '\r' | tr '\n' ' ')"
  else
    echo "ok   $name ($STATUS $CTYPE)"
    return 0
  fi
  return 1
}

check_error() { # NAME STATUS_REGEX: an OpenAI error body {"error": {"message","type","param","code"}}
  check "$1" "$2" "application/json" || return 0
  local key
  for key in '"error"' '"message"' '"type"' '"param"' '"code"'; do
    grep -q "$key" "$TMP/body" || fail "$1: error body lacks $key"
  done
}

json_string() { # KEY -> the first string value of "KEY" in the last body
  grep -o "\"$1\" *: *\"[^\"]*\"" "$TMP/body" | head -n 1 | sed 's/.*: *"\(.*\)"/\1/'
}

echo "verifying $BASE"

# Envoy's own replies: unknown route, preflight.
request GET /v1/verify/no-such-route
check_error "unknown route is 404" 404
request OPTIONS /v1/responses "" -H "origin: http://verify.invalid" -H "access-control-request-method: POST"
if [[ "$STATUS" == 200 && -n "$(header access-control-allow-origin)" ]]; then
  echo "ok   CORS preflight"
else
  fail "CORS preflight: got $STATUS"
fi

# Models.
request GET /v1/models
if check "list models" 200 "application/json"; then
  grep -q '"list"' "$TMP/body" || fail "list models: no list object"
fi
MODEL="${VERIFY_MODEL:-$(json_string id)}"
MODEL="${MODEL:-verify-model}"
request GET "/v1/models/$MODEL"
if [[ "$STATUS" == 200 ]]; then check "get model $MODEL" 200 "application/json"; else check_error "get model $MODEL" 404; fi

# Errors before the first byte.
request POST /v1/responses '{"model": '
check_error "malformed JSON is 400" 400
request GET /v1/responses/resp_verify_missing
check_error "unknown response is 404" 404
request GET "/v1/responses/resp_verify_missing/input_items?limit=2&include[]=message.output_text.logprobs"
check_error "input_items of unknown response is 404" 404
request POST /v1/responses/resp_verify_missing/cancel
check_error "cancel of unknown response is 404" 404
request DELETE /v1/responses/resp_verify_missing
check_error "delete of unknown response is 404" 404

# Counting input tokens: a count (exact or estimated) when the model routes somewhere, else its error.
request POST /v1/responses/input_tokens "{\"model\": \"$MODEL\", \"input\": \"Say hi\"}"
if [[ "$STATUS" == 200 ]]; then
  check "input_tokens with $MODEL" 200 "application/json"
  grep -q '"object":"response.input_tokens"' "$TMP/body" || fail "input_tokens: not a response.input_tokens"
else
  check_error "input_tokens with $MODEL is refused cleanly" '4[0-9][0-9]|50[234]'
fi

# Compaction: the context summarised into a compaction item when the model routes somewhere, else its
# error; a compaction item this server did not seal is a 400.
request POST /v1/responses/compact "{\"model\": \"$MODEL\", \"input\": \"Say hi\"}"
if [[ "$STATUS" == 200 ]]; then
  check "compact with $MODEL" 200 "application/json"
  grep -q '"object":"response.compaction"' "$TMP/body" || fail "compact: not a response.compaction"
else
  check_error "compact with $MODEL is refused cleanly" '4[0-9][0-9]|50[234]'
fi
request POST /v1/responses "{\"model\": \"$MODEL\", \"input\": [{\"type\": \"compaction\", \"encrypted_content\": \"rj1.forged\"}]}"
check_error "a forged compaction item is 400" 400

# A real response, if the model routes somewhere: create (JSON, then SSE), retrieve, list, cancel, delete.
request POST /v1/responses "{\"model\": \"$MODEL\", \"input\": \"Say hi\"}"
if [[ "$STATUS" != 200 ]]; then
  check_error "create with $MODEL is refused cleanly (no upstream for it?)" '4[0-9][0-9]|50[234]'
  echo "note create/retrieve/delete not checked: set VERIFY_MODEL to a routable model"
else
  check "create (json) with $MODEL" 200 "application/json"
  ID="$(json_string id)"
  request GET "/v1/responses/$ID?include[]=message.output_text.logprobs"
  check "retrieve $ID" 200 "application/json"
  request GET "/v1/responses/$ID/input_items?order=asc&limit=10"
  check "input_items of $ID" 200 "application/json"
  request POST "/v1/responses/$ID/cancel"
  check_error "cancel of a finished foreground response is refused" '4[0-9][0-9]'
  request DELETE "/v1/responses/$ID"
  check "delete $ID" 200 "application/json"
  request GET "/v1/responses/$ID"
  check_error "deleted response is 404" 404
  request POST /v1/responses "{\"model\": \"$MODEL\", \"input\": \"Say hi\", \"stream\": true}" -N
  if check "create (stream)" 200 "text/event-stream"; then
    grep -q '^event: response.completed' "$TMP/body" || fail "create (stream): no response.completed event"
  fi
  # Background: queued at once, then its stream replayed from the store.
  request POST /v1/responses "{\"model\": \"$MODEL\", \"input\": \"Say hi\", \"background\": true}"
  if check "create (background)" 200 "application/json"; then
    [[ "$(json_string status)" == queued ]] || fail "create (background): status is not queued"
    BG="$(json_string id)"
    request GET "/v1/responses/$BG?stream=true&starting_after=0" "" -N
    if check "stream of background $BG" 200 "text/event-stream"; then
      grep -q '^event: response.created' "$TMP/body" && fail "stream of background: starting_after=0 replayed event 0"
      grep -q '^event: response.queued' "$TMP/body" || fail "stream of background: no response.queued event"
    fi
  fi
fi

# Conversations: create, retrieve, update, items (add, list, retrieve, delete), delete.
request POST /v1/conversations '{"metadata": {"verify": "yes"}, "items": [{"role": "user", "content": "hi"}]}'
if check "create conversation" 200 "application/json"; then
  CONV="$(json_string id)"
  request GET "/v1/conversations/$CONV"
  check "retrieve conversation" 200 "application/json"
  request POST "/v1/conversations/$CONV" '{"metadata": {"verify": "again"}}'
  if check "update conversation" 200 "application/json"; then
    grep -q '"again"' "$TMP/body" || fail "update conversation: metadata not replaced"
  fi
  request POST "/v1/conversations/$CONV/items" '{"items": [{"role": "user", "content": "more"}]}'
  check "add conversation items" 200 "application/json"
  ITEM="$(json_string id)"
  request GET "/v1/conversations/$CONV/items?order=asc&limit=10"
  check "list conversation items" 200 "application/json"
  request GET "/v1/conversations/$CONV/items/$ITEM"
  check "retrieve conversation item" 200 "application/json"
  request DELETE "/v1/conversations/$CONV/items/$ITEM"
  check "delete conversation item" 200 "application/json"
  request DELETE "/v1/conversations/$CONV"
  check "delete conversation" 200 "application/json"
  request GET "/v1/conversations/$CONV"
  check_error "deleted conversation is 404" 404
fi
request POST /v1/conversations '{"items": 5}'
check_error "conversation with bad items is 400" 400

# Prompt templates (Llama Stack's routes): create, update (a new version), retrieve by version, versions,
# default version, list, delete.
request POST /v1/prompts '{"prompt": "Say hi to {{name}}.", "variables": ["name"]}'
if check "create prompt" 200 "application/json"; then
  PROMPT="$(json_string prompt_id)"
  request PUT "/v1/prompts/$PROMPT" '{"prompt": "Greet {{name}}.", "version": 1, "variables": ["name"]}'
  check "update prompt (version 2)" 200 "application/json"
  request PUT "/v1/prompts/$PROMPT" '{"prompt": "Stale.", "version": 1}'
  check_error "stale prompt update is 409" 409
  request GET "/v1/prompts/$PROMPT?version=1"
  check "retrieve prompt version 1" 200 "application/json"
  request GET "/v1/prompts/$PROMPT/versions"
  check "list prompt versions" 200 "application/json"
  request PUT "/v1/prompts/$PROMPT/set-default-version" '{"version": 1}'
  check "set default prompt version" 200 "application/json"
  request GET "/v1/prompts?limit=5"
  check "list prompts" 200 "application/json"
  request DELETE "/v1/prompts/$PROMPT"
  check "delete prompt" 200 "application/json"
  request GET "/v1/prompts/$PROMPT"
  check_error "deleted prompt is 404" 404
fi
request POST /v1/prompts '{"prompt": "Hi {{undeclared}}"}'
check_error "prompt with an undeclared variable is 400" 400

# Files: upload (multipart, streamed to the service), retrieve, list, content, delete.
printf 'verify file\n' >"$TMP/upload.txt"
request POST /v1/files "" -F "purpose=assistants" -F "file=@$TMP/upload.txt;filename=verify.txt"
if check "upload file" 200 "application/json"; then
  FILE="$(json_string id)"
  request GET "/v1/files/$FILE"
  check "retrieve file" 200 "application/json"
  request GET "/v1/files?limit=5&order=asc&purpose=assistants"
  check "list files" 200 "application/json"
  request GET "/v1/files/$FILE/content"
  if check "file content" 200 "application/octet-stream"; then
    cmp -s "$TMP/body" "$TMP/upload.txt" || fail "file content: not the bytes uploaded"
  fi
  request DELETE "/v1/files/$FILE"
  check "delete file" 200 "application/json"
  request GET "/v1/files/$FILE/content"
  check_error "content of a deleted file is 404" 404
fi
request POST /v1/files "" -F "purpose=nonsense" -F "file=@$TMP/upload.txt"
check_error "file with a bad purpose is 400" 400

# Native gRPC through the same listener: grpc.health.v1.Health/Check with an empty request.
N=$((N + 1))
printf '\0\0\0\0\0' >"$TMP/grpc_request"
if curl -sS --http2-prior-knowledge --max-time 10 -o /dev/null -D "$TMP/headers" -X POST \
  -H "content-type: application/grpc" -H "te: trailers" --data-binary @"$TMP/grpc_request" \
  "$BASE/grpc.health.v1.Health/Check" && [[ "$(header grpc-status)" == 0 ]]; then
  echo "ok   native gRPC health check"
else
  fail "native gRPC health check: grpc-status '$(header grpc-status)'"
fi

if ((FAILURES)); then
  echo "$FAILURES check(s) failed"
  exit 1
fi
echo "all checks passed"
