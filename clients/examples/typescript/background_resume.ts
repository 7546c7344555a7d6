// A background response, read for a while, left, and picked up again from the last sequence number
// read (StreamGet): the run goes on on the server while nobody reads it.
//   REJOINDER_URL, REJOINDER_API_KEY, REJOINDER_MODEL: as in create.ts
import { createRejoinderClient, followResponse, streamResponse } from "@rejoinder/client";

const client = createRejoinderClient({
  baseUrl: process.env["REJOINDER_URL"] ?? "http://127.0.0.1:50051",
  apiKey: process.env["REJOINDER_API_KEY"],
});

const stream = streamResponse(client, {
  model: process.env["REJOINDER_MODEL"] ?? "m",
  input: { input: { case: "text", value: "Tell me a long story." } },
  background: true,
});
let text = "";
let events = 0;
let deltas = 0;
for await (const event of stream) {
  events += 1;
  if (event.event.case === "outputTextDelta") {
    text += event.event.value.delta;
    deltas += 1;
    if (deltas === 3) {
      break; // leaving the loop ends this call; the response keeps running in the background
    }
  }
}
const responseId = stream.responseId;
const leftAt = stream.lastSequenceNumber;
if (responseId === undefined || leftAt === undefined) {
  throw new Error("the stream ended before it began");
}
console.log(`read ${events} events, left at sequence number ${leftAt}: ${text}`);

// Later (another process would do the same with the ID and the number): the events after `leftAt`.
const rest = followResponse(client, responseId, leftAt);
let first = true;
for await (const event of rest) {
  if (first) {
    console.log(`resumed after ${leftAt}: first event ${event.sequenceNumber}`);
    first = false;
  }
  if (event.event.case === "outputTextDelta") {
    text += event.event.value.delta;
  }
}
const response = await rest.finalResponse();
console.log(`${response.status}: ${text}`);
client.close();
