// `serve` on a Marian (opus-mt) directory reads the tokenizer the directory ships: the source
// text through source.spm and the target through target.spm, into the joint ids, each with
// </s> (transformers' MarianTokenizer(text) and (text_target=)), and the decoder starts from
// <pad>.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type RunningServer, startServer } from "../../src/node/server.js";
import { MARIAN_PAD, MARIAN_PAIRS, opusLike } from "../helpers/opus-like.js";

let server: RunningServer;

before(async () => {
  server = await startServer({ modelDir: opusLike(), host: "127.0.0.1", port: 0 });
});
after(async () => {
  await server?.close();
});

/** The parts of the answers this test reads. */
interface Answer {
  has_tokenizer: boolean;
  special_tokens: Record<string, string>;
  source: { ids: number[] };
  target: { labels: { ids: number[] }; decoder_input_ids: { ids: number[] } };
  hypotheses: { text: unknown }[];
}

async function call(path: string, body?: unknown) {
  const res = await fetch(new URL(path, server.url), {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, json: (await res.json()) as Answer };
}

test("serve encodes a Marian pair as transformers does and starts the decoder from <pad>", async () => {
  const info = await call("/api/info");
  assert.equal(info.json.has_tokenizer, true);
  assert.equal(info.json.special_tokens.decoder_start, "<pad>");
  assert.equal(info.json.special_tokens.eos, "</s>");
  const [src, tgt] = MARIAN_PAIRS[0];
  const r = await call("/api/inspect", { text: src.text, target: tgt.text });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.deepEqual(r.json.source.ids, src.source.ids);
  assert.deepEqual(r.json.target.labels.ids, tgt.target.ids);
  assert.deepEqual(r.json.target.decoder_input_ids.ids, [
    MARIAN_PAD,
    ...tgt.target.ids.slice(0, -1),
  ]);
  const t = await call("/api/translate", { text: src.text, max_length: 4 });
  assert.equal(t.status, 200, JSON.stringify(t.json));
  assert.equal(typeof t.json.hypotheses[0].text, "string");
});
