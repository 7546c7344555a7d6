import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  Code,
  type RejoinderClient,
  type ResponseStreamEvent,
  createRejoinderClient,
  followResponse,
  outputText,
  rejoinderError,
  streamResponse,
} from "@rejoinder/client";
import { model, slowModel, targets, textInput } from "./env.js";

for (const target of targets) {
  describe(`ResponsesService over gRPC (${target.name})`, () => {
    let client: RejoinderClient;
    before(() => {
      client = createRejoinderClient({ baseUrl: target.url, timeoutMs: 30_000 });
    });
    after(() => client.close());

    it(`create returns the finished response (${target.name})`, async () => {
      const { response } = await client.responses.create({
        model,
        input: textInput("hello there"),
        instructions: "be brief",
        metadata: { suite: "typescript" },
      });
      assert.ok(response);
      assert.match(response.id, /^resp_/);
      assert.equal(response.object, "response");
      assert.equal(response.status, "completed");
      assert.equal(response.instructions, "be brief");
      assert.deepEqual(response.metadata, { suite: "typescript" });
      assert.equal(outputText(response), "You said: hello there");
      assert.ok(response.usage && response.usage.totalTokens > 0n);
    });

    it(`stream yields typed oneof events and the final response (${target.name})`, async () => {
      const stream = streamResponse(client, { model, input: textInput("stream me") });
      const kinds: string[] = [];
      const sequence: bigint[] = [];
      let deltas = "";
      let doneText: string | undefined;
      for await (const event of stream) {
        kinds.push(event.event.case ?? "none");
        sequence.push(event.sequenceNumber);
        if (event.event.case === "outputTextDelta") {
          deltas += event.event.value.delta;
        } else if (event.event.case === "outputTextDone") {
          doneText = event.event.value.text;
        }
      }
      assert.deepEqual(kinds.slice(0, 2), ["responseCreated", "responseInProgress"]);
      assert.equal(kinds.at(-1), "responseCompleted");
      for (const kind of ["outputItemAdded", "contentPartAdded", "outputTextDelta", "outputTextDone", "outputItemDone"]) {
        assert.ok(kinds.includes(kind), `no ${kind} in ${kinds.join(", ")}`);
      }
      assert.deepEqual(sequence, sequence.map((_, i) => BigInt(i)));
      assert.equal(deltas, "You said: stream me");
      assert.equal(doneText, deltas);
      const final = await stream.finalResponse();
      assert.equal(final.status, "completed");
      assert.equal(final.id, stream.responseId);
      assert.equal(outputText(final), deltas);
      assert.equal(stream.lastSequenceNumber, BigInt(kinds.length - 1));
    });

    it(`get returns the stored response, delete removes it (${target.name})`, async () => {
      const { response: made } = await client.responses.create({ model, input: textInput("keep this") });
      assert.ok(made);
      const { response: got } = await client.responses.get({ responseId: made.id });
      assert.ok(got);
      assert.equal(got.id, made.id);
      assert.equal(outputText(got), "You said: keep this");
      const items = await client.responses.listInputItems({ responseId: made.id });
      assert.equal(items.data.length, 1);
      const first = items.data[0]?.item;
      assert.equal(first?.case, "message");
      if (first?.case === "message") {
        assert.equal(first.value.role, "user");
      }
      const deleted = await client.responses.delete({ responseId: made.id });
      assert.deepEqual([deleted.id, deleted.object, deleted.deleted], [made.id, "response.deleted", true]);
      await assert.rejects(client.responses.get({ responseId: made.id }), (error: unknown) => {
        assert.equal(rejoinderError(error).code, Code.NotFound);
        return true;
      });
    });

    it(`a background response is followed with StreamGet from a sequence number (${target.name})`, async () => {
      const first = streamResponse(client, { model: slowModel, input: textInput("go"), background: true });
      const early: ResponseStreamEvent[] = [];
      for await (const event of first) {
        early.push(event);
        if (early.filter((e) => e.event.case === "outputTextDelta").length === 3) {
          break; // the caller goes away: the background run goes on
        }
      }
      assert.deepEqual(
        early.slice(0, 3).map((e) => e.event.case),
        ["responseCreated", "responseQueued", "responseInProgress"],
      );
      const id = first.responseId;
      const leftAt = first.lastSequenceNumber;
      assert.ok(id !== undefined && leftAt !== undefined);
      await assert.rejects(first.finalResponse(), /before its end/);

      const running = await client.responses.get({ responseId: id });
      assert.ok(["in_progress", "completed"].includes(running.response?.status ?? ""), running.response?.status);

      const rest = followResponse(client, id, leftAt);
      const later: ResponseStreamEvent[] = [];
      for await (const event of rest) {
        later.push(event);
      }
      assert.equal(later[0]?.sequenceNumber, leftAt + 1n);
      assert.deepEqual(
        later.map((e) => e.sequenceNumber),
        later.map((_, i) => leftAt + 1n + BigInt(i)),
      );
      const final = await rest.finalResponse();
      assert.equal(final.status, "completed");
      assert.equal(final.background, true);
      const text = [...early, ...later]
        .map((e) => (e.event.case === "outputTextDelta" ? e.event.value.delta : ""))
        .join("");
      assert.equal(text, " tok".repeat(30));
      assert.equal(outputText(final), text);

      // The whole stream again, from its start, out of the store.
      const replay = followResponse(client, id);
      const replayed: bigint[] = [];
      for await (const event of replay) {
        replayed.push(event.sequenceNumber);
      }
      assert.equal(replayed.length, early.length + later.length);
      assert.equal((await replay.finalResponse()).id, id);
    });

    it(`cancel stops a background response (${target.name})`, async () => {
      const { response: queued } = await client.responses.create({
        model: slowModel,
        input: textInput("long"),
        background: true,
      });
      assert.ok(queued);
      assert.ok(["queued", "in_progress"].includes(queued.status), queued.status);
      const { response: cancelled } = await client.responses.cancel({ responseId: queued.id });
      assert.equal(cancelled?.status, "cancelled");
      const { response: got } = await client.responses.get({ responseId: queued.id });
      assert.equal(got?.status, "cancelled");
    });
  });
}
