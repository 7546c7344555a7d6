// Package rejoinder is the hand-written part of the Go client of Rejoinder, an OpenAI-compatible
// Responses API served over gRPC. The messages and stubs are generated from the proto into
// github.com/rejoinder/rejoinder/clients/go/gen/rejoinder/responses/v1 (package responsesv1); this
// package adds what the generated code leaves awkward:
//
//   - Dial: a connection that sends the API key (authorization: Bearer KEY) with every call, over
//     plaintext or TLS, and a Client holding the stubs of every service;
//   - StreamCreate and StreamGet: a response's events as they arrive, then the finished response;
//   - StatusOf: a failed call's code, message, ErrorInfo (with OpenAI's type, param and code),
//     BadRequest field violations and RetryInfo;
//   - OutputText: the text a response wrote.
//
// A first call:
//
//	client, err := rejoinder.Dial("127.0.0.1:50051", rejoinder.WithAPIKey(os.Getenv("REJOINDER_API_KEY")))
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer client.Close()
//	created, err := client.Responses.Create(ctx, &responsesv1.CreateRequest{
//		Model: "m",
//		Input: &responsesv1.Input{Input: &responsesv1.Input_Text{Text: "hi"}},
//	})
//	if err != nil {
//		log.Fatal(rejoinder.StatusOf(err))
//	}
//	fmt.Println(rejoinder.OutputText(created.GetResponse()))
package rejoinder
