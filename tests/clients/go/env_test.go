// The Go client's suite, against live services that tests/clients/go/test_go_client.py (pytest) starts
// and names in the environment: an open one and one with API keys (tenants a and b), each reached on
// its gRPC port directly and through Envoy's port, which passes gRPC on.
package clienttest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	responsesv1 "github.com/rejoinder/rejoinder/clients/go/gen/rejoinder/responses/v1"
	"github.com/rejoinder/rejoinder/clients/go/rejoinder"
)

// target is one way to reach the services.
type target struct {
	name  string // "direct" or "envoy"
	open  string // host:port of the open service
	keyed string // host:port of the service with API keys
}

var (
	targets   []target
	model     string // answered by the scripted upstream: "You said: <the last user text>"
	slowModel string // the bench upstream: 30 tokens " tok", one every 50 ms
	keyA      string
	keyB      string
)

func TestMain(m *testing.M) {
	var missing []string
	get := func(name string) string {
		value := os.Getenv(name)
		if value == "" {
			missing = append(missing, name)
		}
		return value
	}
	targets = []target{
		{"direct", get("REJOINDER_TEST_DIRECT"), get("REJOINDER_TEST_KEYED_DIRECT")},
		{"envoy", get("REJOINDER_TEST_ENVOY"), get("REJOINDER_TEST_KEYED_ENVOY")},
	}
	model, slowModel = get("REJOINDER_TEST_MODEL"), get("REJOINDER_TEST_SLOW_MODEL")
	keyA, keyB = get("REJOINDER_TEST_KEY_A"), get("REJOINDER_TEST_KEY_B")
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "%s not set: run this suite through tests/clients/go (pytest), which starts the services\n",
			strings.Join(missing, ", "))
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// eachTarget runs test once per target, as a subtest named after it.
func eachTarget(t *testing.T, test func(t *testing.T, target target)) {
	for _, tg := range targets {
		tg := tg
		t.Run(tg.name, func(t *testing.T) { test(t, tg) })
	}
}

// dial connects to address (with an API key when key is not ""); closed when the test ends.
func dial(t *testing.T, address, key string) *rejoinder.Client {
	t.Helper()
	client, err := rejoinder.Dial(address, rejoinder.WithAPIKey(key))
	if err != nil {
		t.Fatalf("dial %s: %v", address, err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// callContext is a context with a deadline for the test's calls.
func callContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// textInput is a string input (one user message).
func textInput(text string) *responsesv1.Input {
	return &responsesv1.Input{Input: &responsesv1.Input_Text{Text: text}}
}

// failure is the decoded error of a call that must fail.
func failure(t *testing.T, err error) *rejoinder.Status {
	t.Helper()
	if err == nil {
		t.Fatal("the call succeeded")
	}
	return rejoinder.StatusOf(err)
}
