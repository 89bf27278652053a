// What the browser inspector's JSON API computes, apart from HTTP: translations (n-best beam
// search with scores) and, for one source and target, the token table, the three attention masks
// the model applies and its attention weights per layer and head. Requests arrive as untrusted
// JSON: every field is checked here (type, range, size) and anything unexpected is an ApiError
// with a 4xx status, so the server only relays it.
import { and, causal, keyPaddingFromAttentionMask } from "../attention/masks.js";
import { beamSearch } from "../decode/beam.js";
import type { EncoderDecoderModel } from "../models/encoder-decoder.js";
import { Seq2SeqIncremental } from "../models/incremental.js";
import { shiftTokensRight } from "../models/inputs.js";
import { familyOf } from "../models/registry.js";
import { noGrad } from "../tensor/autograd.js";
import { logSoftmax } from "../tensor/ops/softmax.js";
import { Tensor } from "../tensor/tensor.js";

/** An error to send to the client: status (4xx for bad requests), message, and the field at fault. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * What the inspector needs of a model's tokenizer: a source or a target text's ids without the
 * final eos (the inspector appends it), Marian's target text through its target side; outputs
 * decoded as target text.
 */
export interface InspectorTokenizer {
  encode(text: string, side: "source" | "target"): number[];
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean }): string;
  idToToken(id: number): string | undefined;
}

export interface InspectorLimits {
  /** Longest request body in bytes. */
  maxBodyBytes: number;
  /** Longest source or target text in characters. */
  maxTextChars: number;
  /** Most source or target tokens (eos included); also bounds pad_source_to. */
  maxTokens: number;
  maxBeam: number;
  /** Most generated tokens. */
  maxLength: number;
}

export const DEFAULT_LIMITS: InspectorLimits = {
  maxBodyBytes: 64 * 1024,
  maxTextChars: 2000,
  maxTokens: 96,
  maxBeam: 8,
  maxLength: 96,
};

/** A dense array with its shape, row-major: the JSON form of a tensor. */
export interface Dense {
  shape: number[];
  data: number[];
}

export interface TokenRow {
  ids: number[];
  tokens: string[];
}

// ---- request validation -------------------------------------------------------------------------

type Body = Record<string, unknown>;

function asObject(body: unknown): Body {
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new ApiError(400, "the request body must be a JSON object");
  return body as Body;
}

function onlyFields(body: Body, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key))
      throw new ApiError(400, `unknown field '${key}'; known fields: ${allowed.join(", ")}`, key);
  }
}

function intField(body: Body, name: string, min: number, max: number, fallback: number): number {
  const v = body[name];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v))
    throw new ApiError(400, `'${name}' must be an integer`, name);
  if (v < min || v > max)
    throw new ApiError(400, `'${name}' must be between ${min} and ${max}, got ${v}`, name);
  return v;
}

export class Inspector {
  readonly limits: InspectorLimits;

  constructor(
    readonly model: EncoderDecoderModel,
    readonly tokenizer: InspectorTokenizer | null,
    limits: Partial<InspectorLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    // Positions past the model's table would fail inside the model: cap the inputs before that.
    this.limits.maxTokens = Math.min(this.limits.maxTokens, model.config.max_position_embeddings);
    this.limits.maxLength = Math.min(this.limits.maxLength, this.limits.maxTokens);
  }

  /** What the page shows about the model, and the limits it should respect. */
  info() {
    const c = this.model.config;
    return {
      config: c,
      has_tokenizer: this.tokenizer !== null,
      special_tokens: {
        pad: this.token(c.pad_token_id),
        eos: this.token(c.eos_token_id),
        decoder_start: this.token(c.decoder_start_token_id),
      },
      limits: this.limits,
    };
  }

  private token(id: number): string {
    return this.tokenizer?.idToToken(id) ?? `#${id}`;
  }

  private row(ids: readonly number[]): TokenRow {
    return { ids: [...ids], tokens: ids.map((id) => this.token(id)) };
  }

  /** Token ids from a text field (encoded, then eos) or an ids field (taken as they are). */
  private ids(
    body: Body,
    textName: string,
    idsName: string,
    appendEos: boolean,
    side: "source" | "target",
  ): number[] | null {
    const text = body[textName];
    const ids = body[idsName];
    if (text !== undefined && ids !== undefined)
      throw new ApiError(400, `give '${textName}' or '${idsName}', not both`, idsName);
    if (text !== undefined) {
      if (typeof text !== "string")
        throw new ApiError(400, `'${textName}' must be a string`, textName);
      if (text.length > this.limits.maxTextChars)
        throw new ApiError(
          413,
          `'${textName}' has ${text.length} characters; the limit is ${this.limits.maxTextChars}`,
          textName,
        );
      if (!this.tokenizer)
        throw new ApiError(
          400,
          `this model directory has no tokenizer.json: send '${idsName}' instead of '${textName}'`,
          textName,
        );
      const out = this.tokenizer.encode(text, side);
      if (appendEos) out.push(this.model.config.eos_token_id);
      this.checkLength(out, textName);
      return out;
    }
    if (ids !== undefined) {
      const V = this.model.config.vocab_size;
      if (!Array.isArray(ids) || ids.length === 0)
        throw new ApiError(400, `'${idsName}' must be a non-empty array of token ids`, idsName);
      this.checkLength(ids, idsName);
      for (const [k, id] of ids.entries()) {
        if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= V)
          throw new ApiError(
            400,
            `'${idsName}[${k}]' must be a token id in 0..${V - 1}, got ${JSON.stringify(id)}`,
            idsName,
          );
      }
      return [...(ids as number[])];
    }
    return null;
  }

  private checkLength(ids: readonly unknown[], field: string): void {
    if (ids.length > this.limits.maxTokens)
      throw new ApiError(
        413,
        `'${field}' gives ${ids.length} tokens; the limit is ${this.limits.maxTokens}`,
        field,
      );
  }

  private source(body: Body): number[] {
    const ids = this.ids(body, "text", "source_ids", true, "source");
    if (!ids) throw new ApiError(400, "give 'text' (a source sentence) or 'source_ids'", "text");
    return ids;
  }

  /**
   * POST /api/translate {text | source_ids, beam?, n_best?, max_length?, length_penalty?}
   * -> {source, hypotheses: [{ids, tokens, text, score, log_prob}]}, best first. Hypothesis ids
   * are the generated tokens (ending in eos unless cut at max_length), i.e. the labels.
   */
  translate(raw: unknown) {
    const body = asObject(raw);
    onlyFields(body, ["text", "source_ids", "beam", "n_best", "max_length"]);
    const src = this.source(body);
    const L = this.limits;
    // The model family's default beam, as translate decodes.
    const familyBeam = familyOf(this.model.config).decoding?.beam ?? 1;
    const beam = intField(body, "beam", 1, L.maxBeam, Math.min(familyBeam, L.maxBeam));
    const nBest = intField(body, "n_best", 1, beam, beam);
    const maxLength = intField(body, "max_length", 1, L.maxLength, Math.min(48, L.maxLength));
    const c = this.model.config;
    const ids = new Tensor(Int32Array.from(src), [1, src.length]);
    const mask = new Tensor(new Int32Array(src.length).fill(1), [1, src.length]);
    const hyps = noGrad(() =>
      beamSearch(new Seq2SeqIncremental(this.model, ids, mask), {
        beamSize: beam,
        nBest,
        startToken: c.decoder_start_token_id,
        eosToken: c.eos_token_id,
        maxLength,
      }),
    )[0];
    return {
      source: this.row(src),
      hypotheses: hyps.map((h) => ({
        ...this.row(h.tokens),
        text: this.tokenizer ? this.tokenizer.decode(h.tokens, { skipSpecialTokens: true }) : null,
        score: h.score,
        log_prob: h.logProb,
      })),
    };
  }

  /**
   * POST /api/inspect {text | source_ids, target | target_ids, pad_source_to?}: one teacher-forced
   * forward pass. Labels are the target (text: encoded, then eos; ids: as given); the decoder input
   * is the labels shifted right behind the start token. With pad_source_to the source is
   * right-padded with pad tokens (attention_mask 0) so padding shows in the masks and weights.
   */
  inspect(raw: unknown) {
    const body = asObject(raw);
    onlyFields(body, ["text", "source_ids", "target", "target_ids", "pad_source_to"]);
    const src = this.source(body);
    const labels = this.ids(body, "target", "target_ids", true, "target");
    if (!labels)
      throw new ApiError(
        400,
        "give 'target' (a target sentence) or 'target_ids' (e.g. a hypothesis from /api/translate)",
        "target",
      );
    const c = this.model.config;
    const padTo = intField(body, "pad_source_to", 0, this.limits.maxTokens, 0);
    const S = Math.max(src.length, padTo);
    const T = labels.length;
    const srcIds = Int32Array.from({ length: S }, (_, j) =>
      j < src.length ? src[j] : c.pad_token_id,
    );
    const srcMask = Int32Array.from({ length: S }, (_, j) => (j < src.length ? 1 : 0));
    const labelT = new Tensor(Int32Array.from(labels), [1, T]);
    const decIn = shiftTokensRight(labelT, c.pad_token_id, c.decoder_start_token_id);
    // The labels are real tokens, so every decoder position is real.
    const decMask = new Tensor(new Int32Array(T).fill(1), [1, T]);
    const srcMaskT = new Tensor(srcMask, [1, S]);

    const encW: { self?: Tensor }[] = [];
    const decW: { self?: Tensor; cross?: Tensor }[] = [];
    const logProbs = noGrad(() => {
      const memory = this.model.encoder.forward(new Tensor(srcIds, [1, S]), srcMaskT, {
        weights: encW,
      });
      const hidden = this.model.decoder.forward(decIn, decMask, {
        memory,
        sourceMask: srcMaskT,
        weights: decW,
      });
      return logSoftmax(this.model.project(hidden)).f32; // [1, T, V]
    });
    const V = c.vocab_size;
    const predicted: number[] = [];
    const labelLogProbs: number[] = [];
    for (let t = 0; t < T; t++) {
      let best = 0;
      for (let v = 1; v < V; v++) if (logProbs[t * V + v] > logProbs[t * V + best]) best = v;
      predicted.push(best);
      labelLogProbs.push(round(logProbs[t * V + labels[t]]));
    }

    // The masks as the stacks build them (src/models/stacks.ts), from the same 2D masks.
    const encoderSelf = keyPaddingFromAttentionMask(srcMaskT);
    const decoderSelf = and(causal(0), keyPaddingFromAttentionMask(decMask));
    const cross = keyPaddingFromAttentionMask(srcMaskT);
    const grid = (m: typeof cross, Tq: number, Tk: number) => ({
      formula: m.describe(),
      shape: [Tq, Tk],
      data: Array.from(m.attendGrid(1, Tq, Tk)),
    });

    return {
      source: { ...this.row(Array.from(srcIds)), attention_mask: Array.from(srcMask) },
      target: {
        decoder_input_ids: this.row(Array.from(decIn.i32)),
        labels: this.row(labels),
        predicted: this.row(predicted),
        label_log_probs: labelLogProbs,
        decoder_attention_mask: Array.from(decMask.i32),
      },
      loss: round(-labelLogProbs.reduce((a, b) => a + b, 0) / T),
      masks: {
        encoder_self: grid(encoderSelf, S, S),
        decoder_self: grid(decoderSelf, T, T),
        cross: grid(cross, T, S),
      },
      weights: {
        encoder_self: stack(encW.map((w) => w.self)),
        decoder_self: stack(decW.map((w) => w.self)),
        cross: stack(decW.map((w) => w.cross)),
      },
    };
  }
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** Per-layer weights [1, H, Tq, Tk] -> one Dense [L, H, Tq, Tk], rounded to keep the JSON small. */
function stack(layers: (Tensor | undefined)[]): Dense {
  const present = layers.filter((t): t is Tensor => t !== undefined);
  if (present.length === 0) return { shape: [0, 0, 0, 0], data: [] };
  const [, H, Tq, Tk] = present[0].shape;
  const data: number[] = [];
  for (const t of present) for (const v of t.f32) data.push(Math.round(v * 1e4) / 1e4);
  return { shape: [present.length, H, Tq, Tk], data };
}
