// The service's errors as a caller reads them: a gRPC status code, OpenAI's message, and the details
// of the `google.rpc.Status` (one ErrorInfo with OpenAI's `type`, `param` and `code`; RetryInfo on a
// 429; BadRequest for an invalid field).

import { Code, ConnectError } from "@connectrpc/connect";
import {
  type BadRequest,
  BadRequestSchema,
  type ErrorInfo,
  ErrorInfoSchema,
  type RetryInfo,
  RetryInfoSchema,
} from "./gen/google/rpc/error_details_pb.js";

/** The ErrorInfo domain of the service's errors. */
export const ERROR_DOMAIN = "responses.rejoinder.dev";

/** A failed call, decoded. */
export interface RejoinderError {
  /** The gRPC status code (`Code.NotFound`, `Code.InvalidArgument`, `Code.Unauthenticated`...). */
  code: Code;
  /** The name of the code as gRPC spells it: "NOT_FOUND", "INVALID_ARGUMENT"... */
  codeName: string;
  /** The message, in OpenAI's words. */
  message: string;
  /** `reason` (e.g. "PREVIOUS_RESPONSE_NOT_FOUND"), `domain` and `metadata` (`type`, `param`, `code`). */
  errorInfo: ErrorInfo | undefined;
  /** The field violations of an invalid request. */
  badRequest: BadRequest | undefined;
  /** How long to wait before trying again (rate limits). */
  retryInfo: RetryInfo | undefined;
  /** OpenAI's `param`: the parameter at fault, when one is. */
  param: string | undefined;
  /** OpenAI's `code` (e.g. "previous_response_not_found"), when there is one. */
  openaiCode: string | undefined;
  /** The error as Connect raised it. */
  cause: ConnectError;
}

/** Decodes any error a call threw (anything that is not a ConnectError becomes `Code.Unknown`). */
export function rejoinderError(error: unknown): RejoinderError {
  const cause = ConnectError.from(error);
  const errorInfo = cause.findDetails(ErrorInfoSchema)[0];
  return {
    code: cause.code,
    codeName: grpcCodeName(cause.code),
    message: cause.rawMessage,
    errorInfo,
    badRequest: cause.findDetails(BadRequestSchema)[0],
    retryInfo: cause.findDetails(RetryInfoSchema)[0],
    param: errorInfo?.metadata["param"],
    openaiCode: errorInfo?.metadata["code"],
    cause,
  };
}

/** "NOT_FOUND" for `Code.NotFound`, and so on. */
export function grpcCodeName(code: Code): string {
  return (Code[code] ?? "UNKNOWN").replace(/(?<=[a-z])(?=[A-Z])/g, "_").toUpperCase();
}
