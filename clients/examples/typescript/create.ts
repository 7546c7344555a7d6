// Create a response and print its text.
//   REJOINDER_URL      the gRPC address (default http://127.0.0.1:50051; Envoy's http://127.0.0.1:8080 works too)
//   REJOINDER_API_KEY  the API key, when the service has keys
//   REJOINDER_MODEL    the model (default "m")
import { createRejoinderClient, outputText } from "@rejoinder/client";

const client = createRejoinderClient({
  baseUrl: process.env["REJOINDER_URL"] ?? "http://127.0.0.1:50051",
  apiKey: process.env["REJOINDER_API_KEY"],
});

const { response } = await client.responses.create({
  model: process.env["REJOINDER_MODEL"] ?? "m",
  input: { input: { case: "text", value: "Say hello in five words." } },
  instructions: "Be brief.",
});
if (response === undefined) {
  throw new Error("no response");
}
console.log(`${response.id} ${response.status}: ${outputText(response)}`);
client.close();
