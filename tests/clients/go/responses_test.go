package clienttest

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	responsesv1 "github.com/rejoinder/rejoinder/clients/go/gen/rejoinder/responses/v1"
	"github.com/rejoinder/rejoinder/clients/go/rejoinder"
)

// kind is the name of the event's oneof case, read through protobuf reflection: "response_created", ...
func kind(event *responsesv1.ResponseStreamEvent) string {
	message := event.ProtoReflect()
	field := message.WhichOneof(message.Descriptor().Oneofs().ByName("event"))
	if field == nil {
		return "none"
	}
	return string(field.Name())
}

func TestCreateReturnsTheFinishedResponse(t *testing.T) {
	eachTarget(t, func(t *testing.T, tg target) {
		client := dial(t, tg.open, "")
		instructions := "be brief"
		created, err := client.Responses.Create(callContext(t), &responsesv1.CreateRequest{
			Model:        model,
			Input:        textInput("hello there"),
			Instructions: &instructions,
			Metadata:     map[string]string{"suite": "go"},
		})
		if err != nil {
			t.Fatalf("create: %v", rejoinder.StatusOf(err))
		}
		response := created.GetResponse()
		if !strings.HasPrefix(response.GetId(), "resp_") || response.GetObject() != "response" || response.GetStatus() != "completed" {
			t.Fatalf("unexpected response: %v", response)
		}
		if response.GetInstructions() != "be brief" || response.GetMetadata()["suite"] != "go" {
			t.Errorf("instructions %q, metadata %v", response.GetInstructions(), response.GetMetadata())
		}
		if got := rejoinder.OutputText(response); got != "You said: hello there" {
			t.Errorf("output text %q", got)
		}
		if response.GetUsage().GetTotalTokens() <= 0 {
			t.Errorf("usage %v", response.GetUsage())
		}
	})
}

func TestStreamYieldsTypedEventsAndTheFinalResponse(t *testing.T) {
	eachTarget(t, func(t *testing.T, tg target) {
		client := dial(t, tg.open, "")
		stream, err := rejoinder.StreamCreate(callContext(t), client.Responses, &responsesv1.CreateRequest{Model: model, Input: textInput("stream me")})
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		defer stream.Close()
		var kinds []string
		var deltas, doneText string
		for i := int64(0); stream.Next(); i++ {
			event := stream.Event()
			kinds = append(kinds, kind(event))
			if event.GetSequenceNumber() != i {
				t.Errorf("event %d has sequence number %d", i, event.GetSequenceNumber())
			}
			switch e := event.GetEvent().(type) {
			case *responsesv1.ResponseStreamEvent_OutputTextDelta:
				deltas += e.OutputTextDelta.GetDelta()
			case *responsesv1.ResponseStreamEvent_OutputTextDone:
				doneText = e.OutputTextDone.GetText()
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("stream failed: %v", rejoinder.StatusOf(err))
		}
		if len(kinds) < 3 || kinds[0] != "response_created" || kinds[1] != "response_in_progress" || kinds[len(kinds)-1] != "response_completed" {
			t.Fatalf("events %v", kinds)
		}
		for _, want := range []string{"output_item_added", "content_part_added", "output_text_delta", "output_text_done", "output_item_done"} {
			if !strings.Contains(" "+strings.Join(kinds, " ")+" ", " "+want+" ") {
				t.Errorf("no %s in %v", want, kinds)
			}
		}
		if deltas != "You said: stream me" || doneText != deltas {
			t.Errorf("deltas %q, done text %q", deltas, doneText)
		}
		final, err := stream.FinalResponse()
		if err != nil {
			t.Fatalf("final response: %v", err)
		}
		if final.GetStatus() != "completed" || final.GetId() != stream.ResponseID() || rejoinder.OutputText(final) != deltas {
			t.Errorf("final response %v (stream's id %q)", final, stream.ResponseID())
		}
		if last, ok := stream.LastSequenceNumber(); !ok || last != int64(len(kinds)-1) {
			t.Errorf("last sequence number %d, %v", last, ok)
		}
	})
}

func TestGetReturnsTheStoredResponseAndDeleteRemovesIt(t *testing.T) {
	eachTarget(t, func(t *testing.T, tg target) {
		client := dial(t, tg.open, "")
		ctx := callContext(t)
		made, err := client.Responses.Create(ctx, &responsesv1.CreateRequest{Model: model, Input: textInput("keep this")})
		if err != nil {
			t.Fatalf("create: %v", rejoinder.StatusOf(err))
		}
		id := made.GetResponse().GetId()
		got, err := client.Responses.Get(ctx, &responsesv1.GetRequest{ResponseId: id})
		if err != nil {
			t.Fatalf("get: %v", rejoinder.StatusOf(err))
		}
		if got.GetResponse().GetId() != id || rejoinder.OutputText(got.GetResponse()) != "You said: keep this" {
			t.Errorf("got %v", got.GetResponse())
		}
		deleted, err := client.Responses.Delete(ctx, &responsesv1.DeleteRequest{ResponseId: id})
		if err != nil {
			t.Fatalf("delete: %v", rejoinder.StatusOf(err))
		}
		if deleted.GetId() != id || deleted.GetObject() != "response.deleted" || !deleted.GetDeleted() {
			t.Errorf("deleted %v", deleted)
		}
		_, err = client.Responses.Get(ctx, &responsesv1.GetRequest{ResponseId: id})
		if status := failure(t, err); status.Code != codes.NotFound {
			t.Errorf("get after delete: %v", status)
		}
	})
}

func TestBackgroundResponseIsFollowedWithStreamGetAfter(t *testing.T) {
	eachTarget(t, func(t *testing.T, tg target) {
		client := dial(t, tg.open, "")
		ctx := callContext(t)
		background := true
		first, err := rejoinder.StreamCreate(ctx, client.Responses, &responsesv1.CreateRequest{Model: slowModel, Input: textInput("go"), Background: &background})
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		var kinds []string
		text, deltas := "", 0
		for deltas < 3 && first.Next() {
			kinds = append(kinds, kind(first.Event()))
			if delta := first.Event().GetOutputTextDelta(); delta != nil {
				text += delta.GetDelta()
				deltas++
			}
		}
		first.Close() // the caller goes away: the background run goes on
		if len(kinds) < 3 || strings.Join(kinds[:3], ",") != "response_created,response_queued,response_in_progress" {
			t.Fatalf("first events %v (err %v)", kinds, first.Err())
		}
		if _, err := first.FinalResponse(); !errors.Is(err, rejoinder.ErrIncomplete) {
			t.Errorf("final response of a closed stream: %v", err)
		}
		id := first.ResponseID()
		leftAt, _ := first.LastSequenceNumber()

		rest, err := rejoinder.StreamGetAfter(ctx, client.Responses, id, leftAt)
		if err != nil {
			t.Fatalf("stream get: %v", err)
		}
		defer rest.Close()
		next := leftAt + 1
		for rest.Next() {
			if got := rest.Event().GetSequenceNumber(); got != next {
				t.Fatalf("sequence number %d, want %d", got, next)
			}
			next++
			text += rest.Event().GetOutputTextDelta().GetDelta()
		}
		final, err := rest.FinalResponse()
		if err != nil {
			t.Fatalf("final response: %v", err)
		}
		if next == leftAt+1 || final.GetStatus() != "completed" || !final.GetBackground() || final.GetId() != id {
			t.Errorf("final response %v after %d events", final, next-leftAt-1)
		}
		if want := strings.Repeat(" tok", 30); text != want || rejoinder.OutputText(final) != want {
			t.Errorf("text %q, output text %q", text, rejoinder.OutputText(final))
		}

		replay, err := rejoinder.StreamGet(ctx, client.Responses, id)
		if err != nil {
			t.Fatalf("stream get: %v", err)
		}
		defer replay.Close()
		replayed, err := replay.FinalResponse()
		if last, _ := replay.LastSequenceNumber(); err != nil || replayed.GetId() != id || last != next-1 {
			t.Errorf("replay: %v, last sequence number %d, want %d", err, last, next-1)
		}
	})
}

func TestAnUnknownResponseIsNotFoundWithErrorInfo(t *testing.T) {
	eachTarget(t, func(t *testing.T, tg target) {
		client := dial(t, tg.open, "")
		_, err := client.Responses.Get(callContext(t), &responsesv1.GetRequest{ResponseId: "resp_nowhere"})
		status := failure(t, err)
		if status.Code != codes.NotFound || status.CodeName() != "NOT_FOUND" || !strings.Contains(status.Message, "resp_nowhere") {
			t.Fatalf("status %v", status)
		}
		if status.ErrorInfo == nil {
			t.Fatalf("no ErrorInfo in the status details: %v", status.Details)
		}
		if status.ErrorInfo.GetDomain() != rejoinder.ErrorDomain || status.ErrorInfo.GetMetadata()["type"] != "invalid_request_error" {
			t.Errorf("ErrorInfo %v", status.ErrorInfo)
		}
	})
}

func TestAnUnknownPreviousResponseIsInvalidArgumentWithItsParam(t *testing.T) {
	eachTarget(t, func(t *testing.T, tg target) {
		client := dial(t, tg.open, "")
		previous := "resp_gone"
		_, err := client.Responses.Create(callContext(t), &responsesv1.CreateRequest{Model: model, Input: textInput("hi"), PreviousResponseId: &previous})
		status := failure(t, err)
		if status.Code != codes.InvalidArgument || status.Reason() != "PREVIOUS_RESPONSE_NOT_FOUND" || status.ErrorInfo.GetDomain() != rejoinder.ErrorDomain {
			t.Fatalf("status %v, ErrorInfo %v", status, status.ErrorInfo)
		}
		if status.Param() != "previous_response_id" || status.OpenAICode() != "previous_response_not_found" {
			t.Errorf("param %q, code %q", status.Param(), status.OpenAICode())
		}
	})
}

func TestAnInvalidFieldIsInvalidArgumentWithABadRequestViolation(t *testing.T) {
	eachTarget(t, func(t *testing.T, tg target) {
		client := dial(t, tg.open, "")
		temperature := 9.0
		_, err := client.Responses.Create(callContext(t), &responsesv1.CreateRequest{Model: model, Input: textInput("hi"), Temperature: &temperature})
		status := failure(t, err)
		if status.Code != codes.InvalidArgument || status.Reason() != "DECIMAL_ABOVE_MAX_VALUE" || status.Param() != "temperature" {
			t.Fatalf("status %v, ErrorInfo %v", status, status.ErrorInfo)
		}
		violations := status.FieldViolations()
		if _, ok := violations["temperature"]; !ok || len(violations) != 1 {
			t.Errorf("field violations %v", violations)
		}
	})
}
