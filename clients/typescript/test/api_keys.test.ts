import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, type RejoinderClient, createRejoinderClient, outputText, rejoinderError } from "@rejoinder/client";
import { keyA, keyB, model, targets, textInput } from "./env.js";

for (const target of targets) {
  describe(`API keys as gRPC metadata (${target.name})`, () => {
    const clients: RejoinderClient[] = [];
    let tenantA: RejoinderClient;
    let tenantB: RejoinderClient;
    let nobody: RejoinderClient;
    let keyless: RejoinderClient;
    before(() => {
      const make = (apiKey?: string) => {
        const made = createRejoinderClient({
          baseUrl: target.keyedUrl,
          timeoutMs: 30_000,
          ...(apiKey === undefined ? {} : { apiKey }),
        });
        clients.push(made);
        return made;
      };
      tenantA = make(keyA);
      tenantB = make(keyB);
      nobody = make("sk-nobody-at-all");
      keyless = make();
    });
    after(() => clients.forEach((c) => c.close()));

    it(`a call without a valid API key is UNAUTHENTICATED (${target.name})`, async () => {
      for (const client of [keyless, nobody]) {
        await assert.rejects(client.responses.create({ model, input: textInput("hi") }), (error: unknown) => {
          const decoded = rejoinderError(error);
          assert.equal(decoded.code, Code.Unauthenticated);
          assert.equal(decoded.codeName, "UNAUTHENTICATED");
          assert.ok(!decoded.message.includes("sk-nobody-at-all"), decoded.message);
          return true;
        });
      }
      await assert.rejects(keyless.models.listModels({}), (e: unknown) => rejoinderError(e).code === Code.Unauthenticated);
    });

    it(`the API key's tenant owns its responses (${target.name})`, async () => {
      const { response } = await tenantA.responses.create({ model, input: textInput("mine") });
      assert.ok(response);
      assert.equal(outputText(response), "You said: mine");
      const { response: again } = await tenantA.responses.get({ responseId: response.id });
      assert.equal(again?.id, response.id);
      const notFound = (error: unknown) => rejoinderError(error).code === Code.NotFound;
      await assert.rejects(tenantB.responses.get({ responseId: response.id }), notFound);
      await assert.rejects(tenantB.responses.delete({ responseId: response.id }), notFound);
      await assert.rejects(
        tenantB.responses.create({ model, input: textInput("x"), previousResponseId: response.id }),
        (error: unknown) => rejoinderError(error).openaiCode === "previous_response_not_found",
      );
      assert.equal((await tenantA.responses.delete({ responseId: response.id })).deleted, true);
    });
  });
}

describe("ModelsService", () => {
  it("models lists what routes", async () => {
    const client = createRejoinderClient({ baseUrl: targets[0]!.url, timeoutMs: 30_000 });
    try {
      const listed = await client.models.listModels({});
      assert.equal(listed.object, "list");
      assert.ok(listed.data.some((m) => m.id === model), listed.data.map((m) => m.id).join(", "));
      const { model: one } = await client.models.getModel({ model });
      assert.equal(one?.id, model);
    } finally {
      client.close();
    }
  });
});
