// The client factory: one HTTP/2 connection (gRPC, via Connect's Node transport) to the service's gRPC
// port or to Envoy's port (which passes gRPC through), with the API key sent on every call.

import type * as http2 from "node:http2";
import { type Client, type Interceptor, type Transport, createClient } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { ConversationsService } from "./gen/rejoinder/responses/v1/conversations_service_pb.js";
import { ModelsService } from "./gen/rejoinder/responses/v1/models_service_pb.js";
import { ResponsesService } from "./gen/rejoinder/responses/v1/responses_service_pb.js";

/** How to reach the service. */
export interface RejoinderClientOptions {
  /**
   * The gRPC address as a URL: `http://127.0.0.1:50051` (the service's gRPC port) or
   * `http://127.0.0.1:8080` (Envoy's port, which passes gRPC through). `http://` speaks HTTP/2
   * without TLS (h2c); `https://` speaks it over TLS (`nodeOptions` for CAs and client certificates).
   */
  baseUrl: string;
  /** Sent as `authorization: Bearer <apiKey>` on every call (the service's API keys). */
  apiKey?: string;
  /** A deadline for every call that does not set its own `timeoutMs`, in milliseconds. */
  timeoutMs?: number;
  /** More interceptors, run after the one that adds the API key. */
  interceptors?: Interceptor[];
  /** Options for Node's `http2.connect` (e.g. `ca`, `cert`, `key` for TLS). */
  nodeOptions?: http2.ClientSessionOptions | http2.SecureClientSessionOptions;
}

/** The typed clients of every service, sharing one connection. */
export interface RejoinderClient {
  /** `rejoinder.responses.v1.ResponsesService`: create, stream, get, delete, cancel, input items. */
  readonly responses: Client<typeof ResponsesService>;
  /** `rejoinder.responses.v1.ConversationsService`. */
  readonly conversations: Client<typeof ConversationsService>;
  /** `rejoinder.responses.v1.ModelsService`. */
  readonly models: Client<typeof ModelsService>;
  /** The transport, for a client of your own (`createClient(Service, client.transport)`). */
  readonly transport: Transport;
  /** Closes the connection; calls still running fail. An idle client does not keep Node running. */
  close(): void;
}

/** An interceptor that sends `authorization: Bearer <apiKey>` with every call. */
export function apiKeyInterceptor(apiKey: string): Interceptor {
  const value = `Bearer ${apiKey}`;
  return (next) => async (request) => {
    request.header.set("authorization", value);
    return next(request);
  };
}

/** A client for the service at `options.baseUrl`. */
export function createRejoinderClient(options: RejoinderClientOptions): RejoinderClient {
  const sessionManager = new Http2SessionManager(options.baseUrl, {}, options.nodeOptions);
  const transport = createGrpcTransport({
    baseUrl: options.baseUrl,
    sessionManager,
    interceptors: [
      ...(options.apiKey === undefined ? [] : [apiKeyInterceptor(options.apiKey)]),
      ...(options.interceptors ?? []),
    ],
    ...(options.timeoutMs === undefined ? {} : { defaultTimeoutMs: options.timeoutMs }),
  });
  return {
    responses: createClient(ResponsesService, transport),
    conversations: createClient(ConversationsService, transport),
    models: createClient(ModelsService, transport),
    transport,
    close: () => sessionManager.abort(),
  };
}
