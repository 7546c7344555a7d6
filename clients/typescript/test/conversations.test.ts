import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  Code,
  type InputItem,
  type RejoinderClient,
  createRejoinderClient,
  outputText,
  rejoinderError,
} from "@rejoinder/client";
import { model, targets, textInput } from "./env.js";

/** The text of a message item's first content part, whatever its kind. */
function textOf(item: InputItem | undefined): string {
  if (item?.item.case !== "message") {
    return `<${item?.item.case ?? "nothing"}>`;
  }
  const content = item.item.value.content?.content;
  if (content?.case === "text") {
    return content.value;
  }
  const part = content?.value?.items[0]?.part;
  return part?.case === "inputText" || part?.case === "outputText" ? part.value.text : `<${part?.case}>`;
}

for (const target of targets) {
  describe(`ConversationsService over gRPC (${target.name})`, () => {
    let client: RejoinderClient;
    before(() => {
      client = createRejoinderClient({ baseUrl: target.url, timeoutMs: 30_000 });
    });
    after(() => client.close());

    it(`conversations keep items and feed responses (${target.name})`, async () => {
      const made = await client.conversations.createConversation({
        items: [
          {
            item: {
              case: "message",
              value: { role: "user", content: { content: { case: "text", value: "my name is Ada" } } },
            },
          },
        ],
        metadata: { topic: "names" },
      });
      const conversation = made.conversation;
      assert.ok(conversation);
      assert.match(conversation.id, /^conv_/);
      assert.deepEqual(conversation.metadata, { topic: "names" });

      const { response } = await client.responses.create({
        model,
        input: textInput("what is my name?"),
        conversation: { conversation: { case: "id", value: conversation.id } },
      });
      assert.ok(response);
      assert.equal(outputText(response), "You said: what is my name?");
      assert.equal(response.conversation?.id, conversation.id);

      const listed = await client.conversations.listConversationItems({
        conversationId: conversation.id,
        order: "asc",
      });
      assert.deepEqual(listed.data.map(textOf), [
        "my name is Ada",
        "what is my name?",
        "You said: what is my name?",
      ]);
      assert.equal(listed.hasMore, false);

      const updated = await client.conversations.updateConversation({
        conversationId: conversation.id,
        metadata: { topic: "renamed" },
      });
      assert.deepEqual(updated.conversation?.metadata, { topic: "renamed" });

      const deleted = await client.conversations.deleteConversation({ conversationId: conversation.id });
      assert.equal(deleted.deleted, true);
      await assert.rejects(
        client.conversations.getConversation({ conversationId: conversation.id }),
        (error: unknown) => rejoinderError(error).code === Code.NotFound,
      );
    });
  });
}
