package rejoinder_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"google.golang.org/grpc/codes"

	responsesv1 "github.com/rejoinder/rejoinder/clients/go/gen/rejoinder/responses/v1"
	"github.com/rejoinder/rejoinder/clients/go/rejoinder"
)

// A first call: create a response and print its text. (The examples compile with the package's tests;
// tests/clients/go runs the same calls against a live server.)
func ExampleDial() {
	client, err := rejoinder.Dial("127.0.0.1:50051", rejoinder.WithAPIKey(os.Getenv("REJOINDER_API_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	created, err := client.Responses.Create(context.Background(), &responsesv1.CreateRequest{
		Model: "m",
		Input: &responsesv1.Input{Input: &responsesv1.Input_Text{Text: "hi"}},
	})
	if err != nil {
		log.Fatal(rejoinder.StatusOf(err))
	}
	fmt.Println(rejoinder.OutputText(created.GetResponse()))
}

// The same, streamed: the text as it is written, then the finished response.
func ExampleStreamCreate() {
	client, err := rejoinder.Dial("127.0.0.1:50051", rejoinder.WithAPIKey(os.Getenv("REJOINDER_API_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	stream, err := rejoinder.StreamCreate(context.Background(), client.Responses, &responsesv1.CreateRequest{
		Model: "m",
		Input: &responsesv1.Input{Input: &responsesv1.Input_Text{Text: "hi"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer stream.Close()
	for stream.Next() {
		if delta := stream.Event().GetOutputTextDelta(); delta != nil {
			fmt.Print(delta.GetDelta())
		}
	}
	response, err := stream.FinalResponse()
	if errors.Is(err, rejoinder.ErrIncomplete) {
		log.Fatalf("no final event: get %s for its state", stream.ResponseID())
	} else if err != nil {
		log.Fatal(rejoinder.StatusOf(err))
	}
	fmt.Printf("\n%s: %s\n", response.GetId(), response.GetStatus())
}

// What a failed call says: its code, and OpenAI's param and code from the ErrorInfo.
func ExampleStatusOf() {
	client, err := rejoinder.Dial("127.0.0.1:50051")
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	previous := "resp_gone"
	_, err = client.Responses.Create(context.Background(), &responsesv1.CreateRequest{
		Model:              "m",
		Input:              &responsesv1.Input{Input: &responsesv1.Input_Text{Text: "hi"}},
		PreviousResponseId: &previous,
	})
	if status := rejoinder.StatusOf(err); status.Code == codes.InvalidArgument {
		fmt.Println(status.Reason(), status.Param(), status.OpenAICode())
		// PREVIOUS_RESPONSE_NOT_FOUND previous_response_id previous_response_not_found
	}
}
