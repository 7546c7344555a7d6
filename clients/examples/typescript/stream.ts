// Stream a response: print its text as it arrives, then what the final response says.
//   REJOINDER_URL, REJOINDER_API_KEY, REJOINDER_MODEL: as in create.ts
import { createRejoinderClient, streamResponse } from "@rejoinder/client";

const client = createRejoinderClient({
  baseUrl: process.env["REJOINDER_URL"] ?? "http://127.0.0.1:50051",
  apiKey: process.env["REJOINDER_API_KEY"],
});

const stream = streamResponse(client, {
  model: process.env["REJOINDER_MODEL"] ?? "m",
  input: { input: { case: "text", value: "Tell me a very short story." } },
});
let deltas = 0;
for await (const event of stream) {
  // `event.event` is a oneof: its `case` names the event, and narrows `value` to that event's type.
  switch (event.event.case) {
    case "outputTextDelta":
      deltas += 1;
      process.stdout.write(event.event.value.delta);
      break;
    case "error":
      console.error(`\nerror: ${event.event.value.message}`);
      break;
    default:
      break;
  }
}
const response = await stream.finalResponse();
console.log(`\n[${deltas} deltas; response ${response.id} ${response.status}, ${response.usage?.outputTokens ?? 0n} output tokens]`);
client.close();
