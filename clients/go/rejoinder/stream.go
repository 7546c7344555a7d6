package rejoinder

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"

	responsesv1 "github.com/rejoinder/rejoinder/clients/go/gen/rejoinder/responses/v1"
)

// ErrIncomplete is what FinalResponse returns (wrapped) when the stream ended, or was closed, before
// its response's final event (response.completed, .incomplete or .failed): a cancelled background
// response ends so. Get the response for its state.
var ErrIncomplete = errors.New("the stream ended before its response did")

// Stream is the events of one response as they arrive, read like a bufio.Scanner:
//
//	stream, err := rejoinder.StreamCreate(ctx, client.Responses, request)
//	if err != nil { ... }
//	defer stream.Close()
//	for stream.Next() {
//		if delta := stream.Event().GetOutputTextDelta(); delta != nil {
//			fmt.Print(delta.GetDelta())
//		}
//	}
//	response, err := stream.FinalResponse() // the call's error, or ErrIncomplete, or the response
//
// Close ends the call (a background response goes on running; StreamGetAfter picks it up again).
type Stream struct {
	recv       func() (*responsesv1.ResponseStreamEvent, error)
	cancel     context.CancelFunc
	event      *responsesv1.ResponseStreamEvent
	err        error
	ended      bool // no more events: the call ended, failed or was closed
	closed     bool // Close came before the end of the call
	responseID string
	last       int64
	read       bool // at least one event was read (last is set)
	response   *responsesv1.Response
	final      *responsesv1.Response
}

// StreamCreate creates a response and streams its events (ResponsesService.StreamCreate). The call
// lives until the stream ends, ctx is done, or Close.
func StreamCreate(ctx context.Context, responses responsesv1.ResponsesServiceClient, request *responsesv1.CreateRequest, options ...grpc.CallOption) (*Stream, error) {
	ctx, cancel := context.WithCancel(ctx)
	call, err := responses.StreamCreate(ctx, &responsesv1.StreamCreateRequest{Params: request}, options...)
	if err != nil {
		cancel()
		return nil, err
	}
	return newStream(cancel, func() (*responsesv1.ResponseStreamEvent, error) {
		message, err := call.Recv()
		return message.GetEvent(), err
	}), nil
}

// StreamGet follows a response (ResponsesService.StreamGet; background responses): every event from
// its first, then each new one while it runs.
func StreamGet(ctx context.Context, responses responsesv1.ResponsesServiceClient, responseID string, options ...grpc.CallOption) (*Stream, error) {
	return streamGet(ctx, responses, &responsesv1.StreamGetRequest{ResponseId: responseID}, options)
}

// StreamGetAfter follows a response from the event after sequenceNumber (a Stream's
// LastSequenceNumber), on any replica.
func StreamGetAfter(ctx context.Context, responses responsesv1.ResponsesServiceClient, responseID string, sequenceNumber int64, options ...grpc.CallOption) (*Stream, error) {
	after := sequenceNumber
	return streamGet(ctx, responses, &responsesv1.StreamGetRequest{ResponseId: responseID, StartingAfter: &after}, options)
}

func streamGet(ctx context.Context, responses responsesv1.ResponsesServiceClient, request *responsesv1.StreamGetRequest, options []grpc.CallOption) (*Stream, error) {
	ctx, cancel := context.WithCancel(ctx)
	call, err := responses.StreamGet(ctx, request, options...)
	if err != nil {
		cancel()
		return nil, err
	}
	return newStream(cancel, func() (*responsesv1.ResponseStreamEvent, error) {
		message, err := call.Recv()
		return message.GetEvent(), err
	}), nil
}

func newStream(cancel context.CancelFunc, recv func() (*responsesv1.ResponseStreamEvent, error)) *Stream {
	return &Stream{recv: recv, cancel: cancel}
}

// Next reads the next event, which Event then returns; false at the end of the stream, when the call
// failed (Err says why) or after Close.
func (s *Stream) Next() bool {
	for !s.ended {
		event, err := s.recv()
		if err != nil {
			if err != io.EOF {
				s.err = err
			}
			s.end()
			break
		}
		if event == nil {
			continue
		}
		s.observe(event)
		s.event = event
		return true
	}
	s.event = nil
	return false
}

// Event is the event Next read (nil before the first Next and after the end).
func (s *Stream) Event() *responsesv1.ResponseStreamEvent {
	return s.event
}

// Err is the error the call ended with (StatusOf decodes it); nil at the stream's normal end and after
// Close.
func (s *Stream) Err() error {
	return s.err
}

// ResponseID is the response's ID, known from the first event on ("" before).
func (s *Stream) ResponseID() string {
	return s.responseID
}

// LastSequenceNumber is the sequence_number of the last event read (where StreamGetAfter picks up);
// false before the first.
func (s *Stream) LastSequenceNumber() (int64, bool) {
	return s.last, s.read
}

// Response is the response as the latest event that carried it showed it (the final one once the
// stream has ended with it); nil before.
func (s *Stream) Response() *responsesv1.Response {
	return s.response
}

// FinalResponse reads the events not yet read, then returns the response the stream ended with
// (completed, incomplete or failed): the call's error if it failed, an error wrapping ErrIncomplete if
// it ended without that event or was closed before it.
func (s *Stream) FinalResponse() (*responsesv1.Response, error) {
	for s.Next() {
	}
	if s.err != nil {
		return nil, s.err
	}
	if s.final == nil {
		how := "ended"
		if s.closed {
			how = "was closed"
		}
		return nil, fmt.Errorf("stream of response %q %s at sequence number %d: %w", s.responseID, how, s.last, ErrIncomplete)
	}
	return s.final, nil
}

// Close ends the call, if it is still running, and releases it. Safe to call more than once.
func (s *Stream) Close() {
	if !s.ended {
		s.closed = true
		s.end()
	}
}

func (s *Stream) end() {
	s.ended = true
	s.cancel()
}

func (s *Stream) observe(event *responsesv1.ResponseStreamEvent) {
	s.last, s.read = event.GetSequenceNumber(), true
	var response *responsesv1.Response
	switch e := event.GetEvent().(type) {
	case *responsesv1.ResponseStreamEvent_ResponseCreated:
		response = e.ResponseCreated.GetResponse()
	case *responsesv1.ResponseStreamEvent_ResponseQueued:
		response = e.ResponseQueued.GetResponse()
	case *responsesv1.ResponseStreamEvent_ResponseInProgress:
		response = e.ResponseInProgress.GetResponse()
	case *responsesv1.ResponseStreamEvent_ResponseCompleted:
		response, s.final = e.ResponseCompleted.GetResponse(), e.ResponseCompleted.GetResponse()
	case *responsesv1.ResponseStreamEvent_ResponseIncomplete:
		response, s.final = e.ResponseIncomplete.GetResponse(), e.ResponseIncomplete.GetResponse()
	case *responsesv1.ResponseStreamEvent_ResponseFailed:
		response, s.final = e.ResponseFailed.GetResponse(), e.ResponseFailed.GetResponse()
	}
	if response != nil {
		s.response = response
		if id := response.GetId(); id != "" {
			s.responseID = id
		}
	}
}
