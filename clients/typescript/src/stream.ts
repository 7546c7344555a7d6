// Streams of response events: StreamCreate (a new response) and StreamGet (a background response,
// followed from any sequence number), read as typed events, then the final response.

import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CallOptions } from "@connectrpc/connect";
import type { ResponseStreamEvent } from "./gen/rejoinder/responses/v1/events_pb.js";
import type { Response } from "./gen/rejoinder/responses/v1/response_pb.js";
import type { CreateRequestSchema } from "./gen/rejoinder/responses/v1/responses_service_pb.js";
import type { RejoinderClient } from "./client.js";

/** The parameters of `responses.create` (a plain object; nested messages as plain objects too). */
export type CreateParams = MessageInitShape<typeof CreateRequestSchema>;

/**
 * The events of one response, read once with `for await`: each is a `ResponseStreamEvent` whose
 * `event` oneof says what it is (`event.event.case === "outputTextDelta"`, then
 * `event.event.value.delta`). `finalResponse()` gives the response the stream ended with.
 */
export class ResponseStream implements AsyncIterable<ResponseStreamEvent> {
  readonly #messages: AsyncIterable<{ event?: ResponseStreamEvent }>;
  readonly #leave: (() => void) | undefined;
  #started = false;
  #ended = false;
  #responseId: string | undefined;
  #lastSequenceNumber: bigint | undefined;
  #final: Response | undefined;

  /**
   * `messages`: the call's messages; `leave`: ends the call when the reader leaves before its end
   * (streamResponse and followResponse pass an abort of the call's signal).
   */
  constructor(messages: AsyncIterable<{ event?: ResponseStreamEvent }>, leave?: () => void) {
    this.#messages = messages;
    this.#leave = leave;
  }

  /** The response's ID, known from the first event on. */
  get responseId(): string | undefined {
    return this.#responseId;
  }

  /** The `sequence_number` of the last event read: where `followResponse` can pick up from. */
  get lastSequenceNumber(): bigint | undefined {
    return this.#lastSequenceNumber;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ResponseStreamEvent> {
    if (this.#started) {
      throw new Error("a ResponseStream is read once");
    }
    this.#started = true;
    const messages = this.#messages[Symbol.asyncIterator]();
    try {
      for (let next = await messages.next(); next.done !== true; next = await messages.next()) {
        const event = next.value.event;
        if (event !== undefined) {
          this.#observe(event);
          yield event;
        }
      }
      this.#ended = true;
    } finally {
      if (!this.#ended) {
        // The reader left early (or the call failed). Connect's streams are ended by their signal, not by
        // leaving the loop: abort the call, then let it see the abort, which also clears its deadline
        // timer (a pending one would keep Node running until the deadline).
        this.#leave?.();
        await messages.next().catch(() => undefined);
      }
    }
  }

  /**
   * The response as the stream's last event (`response.completed`, `response.incomplete` or
   * `response.failed`) carried it. Reads the rest of the stream when the events were not read.
   * Rejects when the stream ended without one of them (a cancelled background response ends so:
   * `responses.get` has it) or was left before its end.
   */
  async finalResponse(): Promise<Response> {
    if (!this.#started) {
      for await (const _ of this) {
        // read to the end
      }
    } else if (!this.#ended) {
      throw new Error("finalResponse(): the stream was left (or is still being read) before its end");
    }
    if (this.#final === undefined) {
      throw new Error(
        `the stream of ${this.#responseId ?? "the response"} ended without a final response event ` +
          `(last sequence number ${String(this.#lastSequenceNumber)})`,
      );
    }
    return this.#final;
  }

  #observe(event: ResponseStreamEvent): void {
    this.#lastSequenceNumber = event.sequenceNumber;
    const { case: kind, value } = event.event;
    switch (kind) {
      case "responseCreated":
      case "responseQueued":
      case "responseInProgress":
        this.#responseId = value.response?.id ?? this.#responseId;
        break;
      case "responseCompleted":
      case "responseIncomplete":
      case "responseFailed":
        this.#responseId = value.response?.id ?? this.#responseId;
        this.#final = value.response;
        break;
      default:
        break;
    }
  }
}

/** Creates a response and streams its events (`ResponsesService.StreamCreate`). */
export function streamResponse(
  client: Pick<RejoinderClient, "responses">,
  params: CreateParams,
  options?: CallOptions,
): ResponseStream {
  const [callOptions, leave] = leavable(options);
  return new ResponseStream(client.responses.streamCreate({ params }, callOptions), leave);
}

/**
 * Follows a background response (`ResponsesService.StreamGet`): the events after `startingAfter`
 * (all of them when it is not given), then each new one while the response runs.
 */
export function followResponse(
  client: Pick<RejoinderClient, "responses">,
  responseId: string,
  startingAfter?: bigint | number,
  options?: CallOptions,
): ResponseStream {
  const request =
    startingAfter === undefined ? { responseId } : { responseId, startingAfter: BigInt(startingAfter) };
  const [callOptions, leave] = leavable(options);
  return new ResponseStream(client.responses.streamGet(request, callOptions), leave);
}

/** The call's options with a signal of our own too, and the function that aborts it. */
function leavable(options: CallOptions | undefined): [CallOptions, () => void] {
  const controller = new AbortController();
  const signal = options?.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  return [{ ...options, signal }, () => controller.abort()];
}

/** The text of a response's output messages, joined (the `output_text` of OpenAI's SDKs). */
export function outputText(response: Response): string {
  const texts: string[] = [];
  for (const item of response.output) {
    if (item.item.case !== "message") {
      continue;
    }
    for (const part of item.item.value.content) {
      if (part.part.case === "outputText") {
        texts.push(part.part.value.text);
      }
    }
  }
  return texts.join("");
}
