// A function tool round trip: the model asks for get_weather, this program runs it and sends the
// result back as a function_call_output on the next response (chained with previous_response_id).
//   REJOINDER_URL, REJOINDER_API_KEY, REJOINDER_MODEL: as in create.ts
import {
  type FunctionToolCall,
  type InputItemSchema,
  type MessageInitShape,
  type ToolSchema,
  createRejoinderClient,
  outputText,
} from "@rejoinder/client";

const client = createRejoinderClient({
  baseUrl: process.env["REJOINDER_URL"] ?? "http://127.0.0.1:50051",
  apiKey: process.env["REJOINDER_API_KEY"],
});
const model = process.env["REJOINDER_MODEL"] ?? "m";

/** The local function the model may call. */
function getWeather(args: { city: string }): { city: string; celsius: number; sky: string } {
  return { city: args.city, celsius: 18, sky: "sunny" };
}

const tools: MessageInitShape<typeof ToolSchema>[] = [
  {
    tool: {
      case: "function",
      value: {
        name: "get_weather",
        description: "The current weather in a city.",
        // JSON Schema, as a JSON string.
        parameters: JSON.stringify({
          type: "object",
          properties: { city: { type: "string" } },
          required: ["city"],
          additionalProperties: false,
        }),
        strict: true,
      },
    },
  },
];

const { response: first } = await client.responses.create({
  model,
  input: { input: { case: "text", value: "What is the weather in Paris?" } },
  tools,
});
if (first === undefined) {
  throw new Error("no response");
}
const calls: FunctionToolCall[] = first.output.flatMap((item) =>
  item.item.case === "functionCall" ? [item.item.value] : [],
);
if (calls.length === 0) {
  console.log(`the model answered without the tool: ${outputText(first)}`);
} else {
  const outputs: MessageInitShape<typeof InputItemSchema>[] = calls.map((call) => {
    console.log(`model called ${call.name}(${call.arguments}) as ${call.callId}`);
    const result = getWeather(JSON.parse(call.arguments) as { city: string });
    return {
      item: {
        case: "functionCallOutput",
        value: { callId: call.callId, output: { output: { case: "text", value: JSON.stringify(result) } } },
      },
    };
  });
  const { response: second } = await client.responses.create({
    model,
    previousResponseId: first.id,
    input: { input: { case: "items", value: { items: outputs } } },
    tools,
  });
  if (second === undefined) {
    throw new Error("no response");
  }
  console.log(`answer: ${outputText(second)}`);
}
client.close();
