// `maskwise chat --precision` and `generate --chat --precision`: the flag reaches the model as it
// does for generate. A conversation's passes on tensors run their products in the chosen matmul
// precision and its decoding steps multiply by the chosen copies of the weights (checked by
// watching the backend's products and the copies' use); the commands' replies are those of a
// conversation held in this process at that precision; float32, given or not, is unchanged; auto
// says what it took on stderr in generate's words; a bad value is generate's one-line error.
import assert from "node:assert/strict";
import { test } from "node:test";
import { chatOptions } from "../../src/cli/commands/chat.js";
import { decodingWeights } from "../../src/models/incremental.js";
import type { DecodingWeights } from "../../src/nn/decoding-weights.js";
import { loadChatModel } from "../../src/node/chat-data.js";
import { getBackend } from "../../src/tensor/dispatch.js";
import { ChatSession } from "../../src/train/chat.js";
import { makeChatModelDir } from "../helpers/chat-tokenizers.js";
import { maskwise } from "../helpers/tiny-run.js";

const TURNS = ["Hi", "What now?"];
const NEW_TOKENS = "24";

/** A qwen2 chat model (Llama family: RoPE, grouped-query attention) with random weights. */
const MODEL = makeChatModelDir(undefined, 7, "qwen2");

type Precision = "float32" | "bfloat16" | "int8";

/** The replies of a conversation held here, at `precision`, with the commands' defaults. */
function inProcess(precision: Precision | null): string[] {
  const { model, tok } = loadChatModel(MODEL);
  const options = chatOptions("chat", { "max-new-tokens": NEW_TOKENS });
  // null: a session given no precision at all (as before the flag existed).
  const session = new ChatSession(
    model,
    tok,
    options,
    [],
    precision === null
      ? undefined
      : {
          matmul: precision === "int8" ? "float32" : precision,
          weights: decodingWeights(model, precision),
        },
  );
  return TURNS.map((t) => session.say(t).replace(/\r?\n/g, " "));
}

function chat(extra: string[]): { replies: string[]; stderr: string } {
  const r = maskwise(
    ["chat", "--model", MODEL, "--max-new-tokens", NEW_TOKENS, ...extra],
    `${TURNS.join("\n")}\n`,
  );
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assert.equal(lines.length, TURNS.length + 1, r.stdout);
  return { replies: lines.slice(0, TURNS.length), stderr: r.stderr };
}

test("a conversation's products follow its precision: tensors' passes and the steps' copies", () => {
  const { model, tok } = loadChatModel(MODEL);
  const options = chatOptions("chat", { "max-new-tokens": "4" });
  const be = getBackend();
  const gemm = be.gemm;
  for (const precision of ["float32", "bfloat16", "int8"] as const) {
    const copies = decodingWeights(model, precision);
    // Counts the products that read a copy (each step's Linears and head).
    let fromCopies = 0;
    const watched: DecodingWeights | undefined = copies && {
      precision: copies.precision,
      bytes: copies.bytes,
      has: (w) => copies.has(w),
      productInto: (...args) => {
        const done = copies.productInto(...args);
        if (done) fromCopies++;
        return done;
      },
    };
    const flags: boolean[] = [];
    be.gemm = (args) => {
      flags.push(args.bf16 === true);
      return gemm.call(be, args);
    };
    try {
      const session = new ChatSession(model, tok, options, [], {
        matmul: precision === "int8" ? "float32" : precision,
        weights: watched,
      });
      session.say("Hi");
      session.say("More");
    } finally {
      be.gemm = gemm;
    }
    // The passes on tensors (the prompt, then the second turn on the cache) multiply in bfloat16
    // exactly when it is asked; the steps read the copies when there are any.
    const passes = flags.filter((f) => f === (precision === "bfloat16"));
    assert.ok(passes.length > 0, `${precision}: no product in its precision`);
    if (precision !== "bfloat16") assert.ok(!flags.includes(true), precision);
    if (precision === "float32") assert.equal(copies, undefined);
    else assert.ok(fromCopies > 0, `${precision}: the steps never read the copies`);
  }
});

test("chat --precision: the replies of that precision; float32 given or not is unchanged", () => {
  const f32 = inProcess("float32");
  assert.deepEqual(inProcess(null), f32);
  assert.deepEqual(chat([]).replies, f32);
  assert.deepEqual(chat(["--precision", "float32"]).replies, f32);
  const bf16 = inProcess("bfloat16");
  assert.deepEqual(chat(["--precision", "bfloat16"]).replies, bf16);
  assert.deepEqual(chat(["--bf16"]).replies, bf16);
  const int8 = inProcess("int8");
  assert.deepEqual(chat(["--precision", "int8"]).replies, int8);
  // This model's int8 replies part from float32's within the 24 tokens (its weights are wide
  // and random), so the command's replies above show that the flag changed the products.
  assert.notDeepEqual(int8, f32);
  const auto = chat(["--precision", "auto"]);
  const said = auto.stderr.match(/^maskwise: precision auto: (float32|bfloat16) \(.+\)$/m);
  assert.ok(said, auto.stderr);
  assert.deepEqual(auto.replies, inProcess(said[1] as Precision));
  // Quiet unless auto has something to say.
  assert.equal(chat(["--precision", "bfloat16"]).stderr, "");
});

test("generate --chat --precision: each line's reply at that precision", () => {
  const input = `${JSON.stringify({ messages: [{ role: "user", content: TURNS[0] }] })}\n`;
  const gen = (extra: string[]) => {
    const r = maskwise(
      ["generate", "--chat", "--model", MODEL, "--max-new-tokens", NEW_TOKENS, ...extra],
      input,
    );
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split("\n")[0];
  };
  for (const p of ["float32", "bfloat16", "int8"] as const)
    assert.equal(gen(["--precision", p]), inProcess(p)[0], p);
  assert.equal(gen([]), inProcess("float32")[0]);
});

test("chat refuses a bad --precision in generate's words", () => {
  const r = maskwise(["chat", "--model", MODEL, "--precision", "half"], "Hi\n");
  assert.equal(r.status, 2);
  assert.match(
    r.stderr,
    /^maskwise: --precision must be auto, float32, bfloat16 or int8, got 'half' \(maskwise chat --precision\): /,
  );
  assert.equal(r.stderr.trim().split("\n").length, 1);
  const both = maskwise(["chat", "--model", MODEL, "--bf16", "--precision", "int8"], "Hi\n");
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--bf16 is --precision bfloat16, not int8/);
});
