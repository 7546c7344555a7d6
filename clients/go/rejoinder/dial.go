package rejoinder

import (
	"context"
	"crypto/tls"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	responsesv1 "github.com/rejoinder/rejoinder/clients/go/gen/rejoinder/responses/v1"
)

// Client is a connection to a Rejoinder server and the generated stub of each of its services.
type Client struct {
	// Conn is the connection the stubs share: for stubs of your own, or to watch its state.
	Conn *grpc.ClientConn
	// Responses creates, streams, gets, cancels and deletes responses.
	Responses responsesv1.ResponsesServiceClient
	// Conversations keeps conversations and their items.
	Conversations responsesv1.ConversationsServiceClient
	// Models lists the models the server routes.
	Models responsesv1.ModelsServiceClient
	// OpenAIHTTP is the HTTP bridge: OpenAI's JSON, and server-sent events, in google.api.HttpBody.
	OpenAIHTTP responsesv1.OpenAIHttpServiceClient
}

// Close closes the connection; calls still running end with codes.Canceled.
func (c *Client) Close() error {
	return c.Conn.Close()
}

// An Option configures Dial.
type Option func(*dialConfig)

type dialConfig struct {
	apiKey      string
	tls         *tls.Config
	dialOptions []grpc.DialOption
}

// WithAPIKey sends key as "authorization: Bearer KEY" with every call (the header the server, and
// Envoy in front of it, read). An empty key sends nothing, so WithAPIKey(os.Getenv(...)) suits a
// server with keys and one without.
func WithAPIKey(key string) Option {
	return func(c *dialConfig) { c.apiKey = key }
}

// WithTLS makes the connection TLS with this configuration (RootCAs for a private CA, Certificates for
// mutual TLS, ServerName when the certificate does not carry the target's host); plaintext otherwise.
// An empty tls.Config trusts the system's roots.
func WithTLS(config *tls.Config) Option {
	return func(c *dialConfig) { c.tls = config }
}

// WithDialOptions adds grpc-go's own dial options (interceptors, keepalive, a blocking dial, ...).
func WithDialOptions(options ...grpc.DialOption) Option {
	return func(c *dialConfig) { c.dialOptions = append(c.dialOptions, options...) }
}

// Dial connects to a Rejoinder server at target ("host:port": the gRPC port, or Envoy's, which passes
// gRPC on). Like grpc.Dial it does not wait for the connection: the first call does. Close the Client
// when done.
func Dial(target string, options ...Option) (*Client, error) {
	var config dialConfig
	for _, option := range options {
		option(&config)
	}
	dialOptions := make([]grpc.DialOption, 0, len(config.dialOptions)+2)
	if config.tls == nil {
		dialOptions = append(dialOptions, grpc.WithInsecure())
	} else {
		dialOptions = append(dialOptions, grpc.WithTransportCredentials(credentials.NewTLS(config.tls)))
	}
	if config.apiKey != "" {
		dialOptions = append(dialOptions, grpc.WithPerRPCCredentials(APIKey(config.apiKey)))
	}
	conn, err := grpc.Dial(target, append(dialOptions, config.dialOptions...)...)
	if err != nil {
		return nil, err
	}
	return NewClient(conn), nil
}

// NewClient wraps a connection made elsewhere (with APIKey among its per-RPC credentials when the
// server has keys).
func NewClient(conn *grpc.ClientConn) *Client {
	return &Client{
		Conn:          conn,
		Responses:     responsesv1.NewResponsesServiceClient(conn),
		Conversations: responsesv1.NewConversationsServiceClient(conn),
		Models:        responsesv1.NewModelsServiceClient(conn),
		OpenAIHTTP:    responsesv1.NewOpenAIHttpServiceClient(conn),
	}
}

// APIKey is gRPC per-RPC credentials that send the key as "authorization: Bearer KEY":
// grpc.WithPerRPCCredentials(rejoinder.APIKey(key)) for a connection of your own, or
// grpc.PerRPCCredentials(rejoinder.APIKey(key)) for one call.
//
// It is sent over plaintext connections too (the service's own gRPC port, Envoy's on a trusted
// network); use WithTLS where the network is not trusted.
type APIKey string

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (k APIKey) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(k)}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials: false, see APIKey.
func (APIKey) RequireTransportSecurity() bool {
	return false
}
