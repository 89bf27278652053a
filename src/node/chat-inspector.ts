// What `maskwise serve` shows for a decoder-only chat model: how `train --task chat` reads
// conversations. POST /api/chat-row takes conversations and returns one training row: its tokens,
// the position each carries loss for, positions and documents, and the causal & documents mask.
// Only the config and the tokenizer are read (no weights): the row is data, not a forward pass.
import type { ModelConfig } from "../models/config.js";
import type { ModelTokenizer } from "../tokenizer/model-tokenizer.js";
import { chatRowView } from "../train/chat-task.js";
import { MaskwiseError } from "../util/errors.js";
import { ApiError, DEFAULT_LIMITS, type Dense } from "./inspector.js";

/** The longest row drawn (its mask has T x T cells). */
const MAX_ROW = 512;
const MAX_CONVERSATIONS = 64;

export class ChatInspector {
  readonly limits = { maxBodyBytes: DEFAULT_LIMITS.maxBodyBytes, maxRowTokens: MAX_ROW };

  constructor(
    private readonly config: ModelConfig,
    private readonly tok: ModelTokenizer,
  ) {}

  info() {
    return { mode: "chat", config: this.config, limits: this.limits };
  }

  /**
   * POST /api/chat-row {conversations: [{messages: […]}, …], pack?: T, row?: N, max_len?: L}
   * -> ids, tokens, texts, labels, loss, position_ids, document_ids, rows, mask {formula, shape, data}
   */
  chatRow(raw: unknown) {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw))
      throw new ApiError(400, "the request body must be a JSON object");
    const body = raw as Record<string, unknown>;
    const allowed = ["conversations", "pack", "row", "max_len"];
    for (const k of Object.keys(body))
      if (!allowed.includes(k))
        throw new ApiError(400, `unknown field '${k}'; known fields: ${allowed.join(", ")}`, k);
    const int = (name: string, min: number, max: number, fallback: number) => {
      const v = body[name];
      if (v === undefined) return fallback;
      if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
        throw new ApiError(400, `'${name}' must be an integer from ${min} to ${max}`, name);
      return v;
    };
    const list = body.conversations;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_CONVERSATIONS)
      throw new ApiError(
        400,
        `'conversations' must be a list of 1 to ${MAX_CONVERSATIONS} {"messages": […]} objects`,
        "conversations",
      );
    const conversations = list.map((c, k) => {
      const messages = (c as { messages?: unknown } | null)?.messages;
      const ok =
        Array.isArray(messages) &&
        messages.every((m) => typeof m?.role === "string" && typeof m?.content === "string");
      if (!ok)
        throw new ApiError(
          400,
          `conversations[${k}] needs a messages list of {role, content} strings`,
          "conversations",
        );
      return {
        messages: messages as { role: string; content: string }[],
        where: `conversations[${k}]`,
      };
    });
    const maxLen = int("max_len", 2, MAX_ROW, 256);
    const pack = int("pack", 0, MAX_ROW, 0);
    const row = int("row", 0, MAX_CONVERSATIONS * MAX_ROW, 0);
    let view: ReturnType<typeof chatRowView>;
    try {
      view = chatRowView(conversations, this.tok, { maxLen, pack, row });
    } catch (e) {
      if (e instanceof MaskwiseError)
        throw new ApiError(400, e.toLine().replace(/^maskwise: /, ""));
      throw e;
    }
    const T = view.ids.length;
    const mask: Dense & { formula: string } = {
      formula: "causal & documents",
      shape: [T, T],
      data: Array.from(view.mask.attendGrid(1, T, T)),
    };
    return {
      ids: view.ids,
      tokens: view.tokens,
      texts: view.ids.map((id) => this.tok.decode([id])),
      labels: view.labels,
      loss: view.labels.map((l) => l !== -100),
      position_ids: view.position_ids,
      document_ids: view.document_ids,
      rows: view.rows,
      mask,
    };
  }
}
