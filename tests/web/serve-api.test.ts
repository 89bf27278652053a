// The JSON API of `maskwise serve` over real HTTP on 127.0.0.1: answers, the token table and the
// masks the model applies, and what bad requests get (4xx with a message, never a crash and never
// a file from outside the model directory).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { request } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type RunningServer, startServer } from "../../src/node/server.js";
import { makeTinyModelDir } from "../helpers/tiny-model.js";

interface Dense {
  shape: number[];
  data: number[];
}
interface Row {
  ids: number[];
  tokens: string[];
}
/** The parts of an /api/inspect answer this test reads. */
interface Inspection {
  source: Row & { attention_mask: number[] };
  target: { labels: Row; decoder_input_ids: Row; label_log_probs: number[] };
  loss: number;
  masks: Record<"encoder_self" | "decoder_self" | "cross", Dense>;
  weights: Record<"encoder_self" | "decoder_self" | "cross", Dense>;
}

let server: RunningServer;
let modelDir: string;

before(async () => {
  modelDir = makeTinyModelDir();
  server = await startServer({ modelDir, host: "127.0.0.1", port: 0 });
});
after(async () => {
  await server?.close();
});

async function post(path: string, body: unknown, type = "application/json") {
  const res = await fetch(new URL(path, server.url), {
    method: "POST",
    headers: { "content-type": type },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** A raw GET, so paths reach the server exactly as written (fetch would normalise `..`). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: "GET", timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

test("the page, its script and /api/info are served", async () => {
  const page = await rawGet("/");
  assert.equal(page.status, 200);
  assert.match(page.body, /<script type="module" src="\/app.js">/);
  const js = await rawGet("/app.js");
  assert.equal(js.status, 200);
  assert.match(js.body, /parseMaskSpec|causal\(offset=/);
  const info = await rawGet("/api/info");
  const parsed = JSON.parse(info.body);
  assert.equal(parsed.config.d_model, 32);
  assert.equal(parsed.special_tokens.decoder_start, "</s>");
  assert.equal(parsed.has_tokenizer, true);
});

test("translate returns the n-best with scores, best first", async () => {
  const r = await post("/api/translate", { text: "a small dog", beam: 3, max_length: 6 });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const src = r.json.source as { ids: number[]; tokens: string[] };
  assert.equal(src.ids.at(-1), 2, "the source ends in eos");
  assert.equal(src.tokens.at(-1), "</s>");
  const hyps = r.json.hypotheses as { ids: number[]; score: number; log_prob: number }[];
  assert.equal(hyps.length, 3);
  for (const h of hyps) {
    assert.ok(h.ids.length >= 1 && h.ids.length <= 6);
    assert.ok(Number.isFinite(h.score) && h.log_prob <= 0);
  }
  for (let k = 1; k < hyps.length; k++) assert.ok(hyps[k - 1].score >= hyps[k].score);
});

test("translate without a beam decodes with the family's default, as the translate command", async () => {
  const r = await post("/api/translate", { text: "a small dog", max_length: 6 });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  // maskwise's encoder-decoder decodes with beam 5; n_best defaults to the beam.
  assert.equal((r.json.hypotheses as unknown[]).length, 5);
});

test("inspect: labels shifted right behind the start token, masks as applied, weights obey them", async () => {
  const r = await post("/api/inspect", {
    text: "the cat",
    target_ids: [10, 20, 30, 2],
    pad_source_to: 9,
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const j = r.json as unknown as Inspection;
  const S = j.source.ids.length;
  assert.equal(S, 9);
  const real = j.source.attention_mask.filter((v: number) => v === 1).length;
  assert.ok(real < S, "the source is padded");
  assert.ok(
    j.source.ids.slice(real).every((id: number) => id === 1),
    "padding uses pad ids",
  );
  assert.deepEqual(j.target.labels.ids, [10, 20, 30, 2]);
  assert.deepEqual(j.target.decoder_input_ids.ids, [2, 10, 20, 30]);
  assert.equal(j.target.decoder_input_ids.tokens[0], "</s>");
  const T = 4;
  const { encoder_self, decoder_self, cross } = j.masks;
  assert.deepEqual(encoder_self.shape, [S, S]);
  assert.deepEqual(decoder_self.shape, [T, T]);
  assert.deepEqual(cross.shape, [T, S]);
  for (let i = 0; i < T; i++)
    for (let k = 0; k < T; k++) assert.equal(decoder_self.data[i * T + k], k <= i ? 1 : 0);
  for (let i = 0; i < T; i++)
    for (let k = 0; k < S; k++) assert.equal(cross.data[i * S + k], k < real ? 1 : 0);
  // Weights: [L, H, Tq, Tk], rows sum to 1, and zero exactly where the mask says masked.
  const pairs: [string, Dense, Dense][] = [
    ["encoder_self", j.weights.encoder_self, encoder_self],
    ["decoder_self", j.weights.decoder_self, decoder_self],
    ["cross", j.weights.cross, cross],
  ];
  for (const [name, w, m] of pairs) {
    const [L, H, Tq, Tk] = w.shape;
    assert.deepEqual([L, H], [2, 2], name);
    for (let lh = 0; lh < L * H; lh++) {
      for (let i = 0; i < Tq; i++) {
        let sum = 0;
        for (let k = 0; k < Tk; k++) {
          const v = w.data[(lh * Tq + i) * Tk + k];
          sum += v;
          if (m.data[i * Tk + k] === 0) assert.equal(v, 0, `${name} attends to a masked key`);
        }
        assert.ok(Math.abs(sum - 1) < 2e-3, `${name} row ${i} sums to ${sum}`);
      }
    }
  }
  assert.equal(j.target.label_log_probs.length, T);
  assert.ok(j.loss > 0);
});

test("bad requests get 4xx with a message that names the problem", async () => {
  const cases: [string, unknown, number, RegExp][] = [
    ["/api/translate", { text: 5 }, 400, /'text' must be a string/],
    ["/api/translate", { text: "a", beam: 0 }, 400, /'beam' must be between 1 and 8/],
    ["/api/translate", { text: "a", beam: 2.5 }, 400, /'beam' must be an integer/],
    ["/api/translate", { text: "a", n_best: 9, beam: 2 }, 400, /'n_best' must be between 1 and 2/],
    ["/api/translate", { text: "a", bogus: 1 }, 400, /unknown field 'bogus'/],
    ["/api/translate", '{"text": "a", "__proto__": {"beam": 1}}', 400, /unknown field '__proto__'/],
    ["/api/translate", [1, 2], 400, /must be a JSON object/],
    ["/api/translate", null, 400, /must be a JSON object/],
    ["/api/translate", {}, 400, /give 'text'/],
    ["/api/translate", { text: "a", source_ids: [3] }, 400, /not both/],
    ["/api/translate", { source_ids: [3, 99999] }, 400, /source_ids\[1\]' must be a token id/],
    ["/api/translate", { source_ids: [] }, 400, /non-empty array/],
    ["/api/translate", { source_ids: "3 4" }, 400, /non-empty array/],
    ["/api/translate", { text: "x".repeat(2001) }, 413, /limit is 2000/],
    ["/api/translate", { source_ids: Array(200).fill(5) }, 413, /200 tokens; the limit is 96/],
    ["/api/inspect", { text: "a" }, 400, /give 'target'/],
    ["/api/inspect", { text: "a", target_ids: [-1] }, 400, /target_ids\[0\]/],
    ["/api/inspect", { text: "a", target: "b", pad_source_to: 1000 }, 400, /pad_source_to/],
    ["/api/inspect", { text: "a", target: "b", path: "../../etc/passwd" }, 400, /unknown field/],
  ];
  for (const [path, body, status, pattern] of cases) {
    const r = await post(path, body);
    assert.equal(r.status, status, `${JSON.stringify(body)} -> ${JSON.stringify(r.json)}`);
    if (status !== 200) assert.match(String(r.json.error), pattern);
  }
  const notJson = await post("/api/translate", '{"text": "a",,}');
  assert.equal(notJson.status, 400);
  assert.match(String(notJson.json.error), /not valid JSON/);
  const wrongType = await post("/api/translate", "text=a", "application/x-www-form-urlencoded");
  assert.equal(wrongType.status, 415);
  const get = await rawGet("/api/translate");
  assert.equal(get.status, 405);
  assert.equal((await rawGet("/api/nothing")).status, 404);
});

test("an oversize body gets 413 and the server keeps serving", async () => {
  const big = JSON.stringify({ text: "a".repeat(200_000) });
  const r = await post("/api/translate", big);
  assert.equal(r.status, 413);
  assert.match(String(r.json.error), /over the 65536-byte limit/);
  assert.equal((await post("/api/translate", { text: "a", max_length: 2 })).status, 200);
});

test("no path reaches a file: traversal, encoded or not, is a 404", async () => {
  for (const path of [
    "/../config.json",
    "/..%2fconfig.json",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/web/../../../../etc/passwd",
    "/model.safetensors",
    "/config.json",
    "/tokenizer.json",
    "//etc/passwd",
    "/main.ts",
    "/style.css/../../package.json",
  ]) {
    const r = await rawGet(path);
    assert.equal(r.status, 404, `${path}: ${r.body.slice(0, 80)}`);
    assert.doesNotMatch(r.body, /root:|d_model|"name": "maskwise"/);
  }
  assert.equal((await rawGet("/")).status, 200);
});

/** Writes raw bytes to the server and returns what comes back before it closes (or 5 s pass). */
function rawExchange(bytes: string, endAfterWrite: boolean): Promise<string> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let got = "";
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got);
    };
    const timer = setTimeout(done, 5_000);
    socket.setEncoding("utf8");
    socket.on("data", (c) => {
      got += c;
    });
    socket.on("close", done);
    socket.on("error", done);
    socket.write(bytes, () => {
      if (endAfterWrite) socket.end();
      else socket.destroy();
    });
  });
}

test("malformed HTTP and clients that vanish mid-body leave the server serving", async () => {
  assert.match(await rawExchange("GARBAGE\r\n\r\n", true), /^HTTP\/1\.1 400/);
  const partial =
    "POST /api/translate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n" +
    'content-length: 1000\r\n\r\n{"text": "a';
  await rawExchange(partial, false);
  await rawExchange(partial, true);
  const r = await post("/api/translate", { text: "a", max_length: 2 });
  assert.equal(r.status, 200);
});

test("maskwise serve prints its URL, serves, and stops on SIGTERM", async () => {
  const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
  const child = spawn(process.execPath, [bin, "serve", "--model", modelDir, "--port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no URL within 20 s")), 20_000);
      let out = "";
      child.stdout.on("data", (c) => {
        out += c;
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[0]);
        }
      });
      child.on("exit", (code) => reject(new Error(`exited with ${code}`)));
    });
    const res = await fetch(new URL("/api/info", url), { signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200);
    const code = await new Promise<number | null>((resolve) => {
      child.on("exit", (c) => resolve(c));
      child.kill("SIGTERM");
    });
    assert.equal(code, 0);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});

test("maskwise serve without --model, or with a missing one, is one error line and status 2", async () => {
  const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
  for (const args of [["serve"], ["serve", "--model", "/nonexistent/dir"]]) {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (c) => {
      err += c;
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    assert.equal(code, 2, err);
    // The last line: a line about the native backend may come first.
    assert.match(
      err.trim().split("\n").at(-1) ?? "",
      /^maskwise: .*(--model is required|not found)/,
    );
  }
});
