// @rejoinder/client: the generated messages and services of rejoinder.responses.v1 (protobuf-es v2),
// and a thin layer over Connect's gRPC transport for Node.

export * from "./client.js";
export * from "./errors.js";
export * from "./stream.js";

export * from "./gen/rejoinder/responses/v1/content_pb.js";
export * from "./gen/rejoinder/responses/v1/conversations_service_pb.js";
export * from "./gen/rejoinder/responses/v1/events_pb.js";
export * from "./gen/rejoinder/responses/v1/items_pb.js";
export * from "./gen/rejoinder/responses/v1/models_service_pb.js";
export * from "./gen/rejoinder/responses/v1/options_pb.js";
export * from "./gen/rejoinder/responses/v1/response_pb.js";
export * from "./gen/rejoinder/responses/v1/responses_service_pb.js";
export * from "./gen/rejoinder/responses/v1/tools_pb.js";
export * from "./gen/google/rpc/error_details_pb.js";

// What code using the messages needs most, so it needs no import of its own from the libraries.
export { create, fromJson, toJson, type MessageInitShape } from "@bufbuild/protobuf";
export { Code, ConnectError, type CallOptions, type Interceptor } from "@connectrpc/connect";
