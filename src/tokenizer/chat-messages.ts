// One conversation of a JSON-lines file: {"messages":[{"role":…,"content":…},…]}, as
// transformers' apply_chat_template takes it (`maskwise tokenizer chat`, `train --task chat`,
// `generate --chat`, `masks show --chat`). Other fields of a message are kept for the template.
import { MaskwiseError } from "../util/errors.js";
import type { ChatMessage } from "./tokenizer-config.js";

/** The messages of one line; `where` (file:line) names it in errors. */
export function parseConversation(text: string, where: string): ChatMessage[] {
  const bad = (what: string): never => {
    throw new MaskwiseError(what, {
      code: "E_INPUT",
      where,
      hint: 'write each line as {"messages":[{"role":"user","content":"..."}]}',
    });
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    bad(`not JSON (${(e as Error).message})`);
  }
  const messages = (v as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(messages)) return bad("the line has no messages list");
  messages.forEach((m, i) => {
    const msg = m as Record<string, unknown> | null;
    if (typeof msg?.role !== "string" || typeof msg.content !== "string")
      bad(`messages[${i}] needs string role and content`);
  });
  return messages as ChatMessage[];
}
