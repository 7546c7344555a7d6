package clienttest

import (
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	responsesv1 "github.com/rejoinder/rejoinder/clients/go/gen/rejoinder/responses/v1"
	"github.com/rejoinder/rejoinder/clients/go/rejoinder"
)

func TestACallWithoutAValidAPIKeyIsUnauthenticated(t *testing.T) {
	eachTarget(t, func(t *testing.T, tg target) {
		for _, key := range []string{"", "sk-nobody-at-all"} {
			client := dial(t, tg.keyed, key)
			_, err := client.Responses.Create(callContext(t), &responsesv1.CreateRequest{Model: model, Input: textInput("hi")})
			status := failure(t, err)
			if status.Code != codes.Unauthenticated || status.CodeName() != "UNAUTHENTICATED" || strings.Contains(status.Message, "sk-nobody") {
				t.Errorf("key %q: %v", key, status)
			}
			_, err = client.Models.ListModels(callContext(t), &responsesv1.ListModelsRequest{})
			if status := failure(t, err); status.Code != codes.Unauthenticated {
				t.Errorf("key %q, list models: %v", key, status)
			}
		}
	})
}

func TestTheAPIKeysTenantOwnsItsResponses(t *testing.T) {
	eachTarget(t, func(t *testing.T, tg target) {
		tenantA, tenantB := dial(t, tg.keyed, keyA), dial(t, tg.keyed, keyB)
		ctx := callContext(t)
		made, err := tenantA.Responses.Create(ctx, &responsesv1.CreateRequest{Model: model, Input: textInput("mine")})
		if err != nil {
			t.Fatalf("create: %v", rejoinder.StatusOf(err))
		}
		id := made.GetResponse().GetId()
		if rejoinder.OutputText(made.GetResponse()) != "You said: mine" {
			t.Errorf("output %q", rejoinder.OutputText(made.GetResponse()))
		}
		if again, err := tenantA.Responses.Get(ctx, &responsesv1.GetRequest{ResponseId: id}); err != nil || again.GetResponse().GetId() != id {
			t.Errorf("tenant a's get: %v", err)
		}
		_, err = tenantB.Responses.Get(ctx, &responsesv1.GetRequest{ResponseId: id})
		if status := failure(t, err); status.Code != codes.NotFound {
			t.Errorf("tenant b's get: %v", status)
		}
		previous := id
		_, err = tenantB.Responses.Create(ctx, &responsesv1.CreateRequest{Model: model, Input: textInput("x"), PreviousResponseId: &previous})
		if status := failure(t, err); status.OpenAICode() != "previous_response_not_found" {
			t.Errorf("tenant b's create after a's response: %v", status)
		}
		// The key for one call only, on a connection without one.
		keyless := dial(t, tg.keyed, "")
		deleted, err := keyless.Responses.Delete(ctx, &responsesv1.DeleteRequest{ResponseId: id}, grpc.PerRPCCredentials(rejoinder.APIKey(keyA)))
		if err != nil || !deleted.GetDeleted() {
			t.Errorf("delete with a per-call key: %v", err)
		}
	})
}

func TestModelsListWhatRoutes(t *testing.T) {
	eachTarget(t, func(t *testing.T, tg target) {
		client := dial(t, tg.keyed, keyA)
		ctx := callContext(t)
		listed, err := client.Models.ListModels(ctx, &responsesv1.ListModelsRequest{})
		if err != nil {
			t.Fatalf("list models: %v", rejoinder.StatusOf(err))
		}
		var ids []string
		for _, m := range listed.GetData() {
			ids = append(ids, m.GetId())
		}
		if listed.GetObject() != "list" || !strings.Contains(" "+strings.Join(ids, " ")+" ", " "+model+" ") {
			t.Errorf("models %q: %v", listed.GetObject(), ids)
		}
		one, err := client.Models.GetModel(ctx, &responsesv1.GetModelRequest{Model: model})
		if err != nil || one.GetModel().GetId() != model {
			t.Errorf("get model: %v %v", one, err)
		}
		// The HTTP bridge: OpenAI's own JSON in a google.api.HttpBody (genproto's message).
		body, err := client.OpenAIHTTP.ListModels(ctx, &responsesv1.HttpListModelsRequest{})
		if err != nil {
			t.Fatalf("HTTP bridge list models: %v", rejoinder.StatusOf(err))
		}
		var page struct {
			Object string `json:"object"`
			Data   []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body.GetData(), &page); err != nil || page.Object != "list" || !strings.HasPrefix(body.GetContentType(), "application/json") {
			t.Errorf("HTTP bridge body %q (%s): %v", body.GetData(), body.GetContentType(), err)
		}
	})
}
