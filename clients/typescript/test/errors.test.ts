import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  Code,
  ERROR_DOMAIN,
  type RejoinderClient,
  type RejoinderError,
  createRejoinderClient,
  rejoinderError,
} from "@rejoinder/client";
import { model, targets, textInput } from "./env.js";

/** The decoded error the promise rejected with (fails when it resolves). */
async function failure(call: Promise<unknown>): Promise<RejoinderError> {
  try {
    await call;
  } catch (error) {
    return rejoinderError(error);
  }
  assert.fail("the call succeeded");
}

for (const target of targets) {
  describe(`errors over gRPC (${target.name})`, () => {
    let client: RejoinderClient;
    before(() => {
      client = createRejoinderClient({ baseUrl: target.url, timeoutMs: 30_000 });
    });
    after(() => client.close());

    it(`an unknown response is NOT_FOUND with ErrorInfo (${target.name})`, async () => {
      const error = await failure(client.responses.get({ responseId: "resp_nowhere" }));
      assert.equal(error.code, Code.NotFound);
      assert.equal(error.codeName, "NOT_FOUND");
      assert.match(error.message, /resp_nowhere/);
      assert.ok(error.errorInfo, "no ErrorInfo in the status details");
      assert.equal(error.errorInfo.domain, ERROR_DOMAIN);
      assert.equal(error.errorInfo.metadata["type"], "invalid_request_error");
    });

    it(`an unknown previous_response_id is INVALID_ARGUMENT with ErrorInfo and its param (${target.name})`, async () => {
      const error = await failure(
        client.responses.create({ model, input: textInput("hi"), previousResponseId: "resp_gone" }),
      );
      assert.equal(error.code, Code.InvalidArgument);
      assert.equal(error.errorInfo?.reason, "PREVIOUS_RESPONSE_NOT_FOUND");
      assert.equal(error.errorInfo?.domain, ERROR_DOMAIN);
      assert.equal(error.param, "previous_response_id");
      assert.equal(error.openaiCode, "previous_response_not_found");
    });

    it(`an invalid field is INVALID_ARGUMENT with a BadRequest violation (${target.name})`, async () => {
      const error = await failure(client.responses.create({ model, input: textInput("hi"), temperature: 9 }));
      assert.equal(error.code, Code.InvalidArgument);
      assert.equal(error.errorInfo?.reason, "DECIMAL_ABOVE_MAX_VALUE");
      assert.equal(error.param, "temperature");
      assert.deepEqual(
        error.badRequest?.fieldViolations.map((v) => v.field),
        ["temperature"],
      );
    });
  });
}
