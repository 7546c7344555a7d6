// Where the suite finds the live services: set by tests/clients/typescript/test_typescript_client.py,
// which starts them (an open one, and one with API keys for tenants a and b).

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set: run this suite through tests/clients/typescript (pytest)`);
  }
  return value;
}

/** One way to reach a service: its gRPC port directly, or Envoy's port, which passes gRPC through. */
export interface Target {
  name: "direct" | "envoy";
  url: string;
  keyedUrl: string;
}

export const targets: Target[] = [
  {
    name: "direct",
    url: required("REJOINDER_TEST_DIRECT_URL"),
    keyedUrl: required("REJOINDER_TEST_KEYED_DIRECT_URL"),
  },
  {
    name: "envoy",
    url: required("REJOINDER_TEST_ENVOY_URL"),
    keyedUrl: required("REJOINDER_TEST_KEYED_ENVOY_URL"),
  },
];

/** A model answered by the scripted upstream: "You said: <the last user text>". */
export const model = required("REJOINDER_TEST_MODEL");
/** A model answered slowly (one " tok" every 50 ms), for background runs. */
export const slowModel = required("REJOINDER_TEST_SLOW_MODEL");
/** API keys of two tenants of the keyed service. */
export const keyA = required("REJOINDER_TEST_KEY_A");
export const keyB = required("REJOINDER_TEST_KEY_B");

/** `{ case: "text", value }`: a string input (one user message). */
export function textInput(text: string) {
  return { input: { case: "text" as const, value: text } };
}
