package rejoinder

import (
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the ErrorInfo domain of the service's errors.
const ErrorDomain = "responses.rejoinder.dev"

// Status is what a failed call says: its code, OpenAI's message, and the details of the
// google.rpc.Status the server sends with it.
type Status struct {
	// Code is the gRPC status code: codes.NotFound, codes.InvalidArgument, codes.Unauthenticated, ...
	Code codes.Code
	// Message is the error's message, in OpenAI's words.
	Message string
	// ErrorInfo has the reason (e.g. PREVIOUS_RESPONSE_NOT_FOUND), the domain (ErrorDomain) and metadata
	// with OpenAI's "type", and its "param" and "code" where they apply; nil when the status has none.
	ErrorInfo *errdetails.ErrorInfo
	// BadRequest has the invalid fields of a bad request; nil when the status has none.
	BadRequest *errdetails.BadRequest
	// RetryInfo says how long to wait before trying again (rate limits); nil when the status has none.
	RetryInfo *errdetails.RetryInfo
	// Details are all the status's details, each as its own message type (or an error for a type this
	// client does not know).
	Details []interface{}
}

// StatusOf decodes the error a call returned. An error that is not a gRPC status (a nil one included)
// gives codes.Unknown, or codes.OK for nil, with the error's text as the message.
func StatusOf(err error) *Status {
	st := status.Convert(err)
	decoded := &Status{Code: st.Code(), Message: st.Message(), Details: st.Details()}
	for _, detail := range decoded.Details {
		switch d := detail.(type) {
		case *errdetails.ErrorInfo:
			if decoded.ErrorInfo == nil {
				decoded.ErrorInfo = d
			}
		case *errdetails.BadRequest:
			if decoded.BadRequest == nil {
				decoded.BadRequest = d
			}
		case *errdetails.RetryInfo:
			if decoded.RetryInfo == nil {
				decoded.RetryInfo = d
			}
		}
	}
	return decoded
}

// Param is OpenAI's "param": the request parameter at fault, or "".
func (s *Status) Param() string {
	return s.ErrorInfo.GetMetadata()["param"]
}

// OpenAICode is OpenAI's error "code" (e.g. "previous_response_not_found"), or "".
func (s *Status) OpenAICode() string {
	return s.ErrorInfo.GetMetadata()["code"]
}

// Reason is the ErrorInfo's reason (e.g. "PREVIOUS_RESPONSE_NOT_FOUND"), or "".
func (s *Status) Reason() string {
	return s.ErrorInfo.GetReason()
}

// FieldViolations are the invalid fields of a bad request: field name to description.
func (s *Status) FieldViolations() map[string]string {
	violations := map[string]string{}
	for _, v := range s.BadRequest.GetFieldViolations() {
		violations[v.GetField()] = v.GetDescription()
	}
	return violations
}

// Error makes a Status an error too: "rpc error: NOT_FOUND: ... (reason PREVIOUS_RESPONSE_NOT_FOUND)".
func (s *Status) Error() string {
	text := fmt.Sprintf("rpc error: %s: %s", codeName(s.Code), s.Message)
	if reason := s.Reason(); reason != "" {
		text += " (reason " + reason + ")"
	}
	return text
}

// codeName is the code as gRPC spells it: NOT_FOUND, INVALID_ARGUMENT, ...
func codeName(code codes.Code) string {
	if name, ok := codeNames[code]; ok {
		return name
	}
	return code.String()
}

var codeNames = map[codes.Code]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN",
	codes.InvalidArgument: "INVALID_ARGUMENT", codes.DeadlineExceeded: "DEADLINE_EXCEEDED",
	codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED",
	codes.OutOfRange: "OUT_OF_RANGE", codes.Unimplemented: "UNIMPLEMENTED", codes.Internal: "INTERNAL",
	codes.Unavailable: "UNAVAILABLE", codes.DataLoss: "DATA_LOSS", codes.Unauthenticated: "UNAUTHENTICATED",
}

// CodeName is the code as gRPC spells it in its specification: "NOT_FOUND", "INVALID_ARGUMENT", ...
func (s *Status) CodeName() string {
	return codeName(s.Code)
}
