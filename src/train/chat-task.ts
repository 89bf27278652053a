// `maskwise train --task chat`: what the command decides about its data. Each conversation is
// rendered with the model's chat template and labelled on the assistant's tokens only
// (objectives/chat.ts); conversations are then packed into rows of `pack` tokens (0: one a row),
// each keeping its own positions and, through the documents mask, its own attention.
import { type ChatTokenizer, chatExample, packExamples } from "../objectives/chat.js";
import type { Example } from "../objectives/types.js";
import type { ChatMessage } from "../tokenizer/tokenizer-config.js";

export interface ChatExampleOptions {
  /** Tokens per conversation at most (longer ones are cut). */
  maxLen: number;
  /** Tokens per packed row (0: no packing). */
  pack: number;
}

/** Training rows of conversations (each with `where`, file:line, for errors). */
export function chatExamples(
  conversations: readonly { messages: readonly ChatMessage[]; where: string }[],
  tok: ChatTokenizer,
  o: ChatExampleOptions,
): Example[] {
  const examples: Example[] = conversations.map((c) => {
    const { input_ids, labels } = chatExample(tok, c.messages, {
      maxLen: o.maxLen,
      where: c.where,
    });
    return { input_ids, labels };
  });
  return o.pack > 0 ? packExamples(examples, o.pack) : examples;
}
