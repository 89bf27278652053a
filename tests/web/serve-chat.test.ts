// `maskwise serve` on a decoder-only chat model (GPT-2 with the qwen2_style ChatML tokenizer):
// /api/chat-row gives a packed training row (loss positions, positions, documents, the causal &
// documents mask), bad requests get a 400 with a message, and the page draws the row in a real
// headless Chromium when /usr/bin/chromium exists (skipped otherwise, except in CI).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type RunningServer, startServer } from "../../src/node/server.js";
import { makeChatModelDir } from "../helpers/chat-tokenizers.js";

let server: RunningServer;
before(async () => {
  server = await startServer({ modelDir: makeChatModelDir(), host: "127.0.0.1", port: 0 });
});
after(async () => {
  await server?.close();
});

const CONVERSATIONS = [
  {
    messages: [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello!" },
    ],
  },
  {
    messages: [
      { role: "user", content: "Bye" },
      { role: "assistant", content: "Ciao." },
    ],
  },
];

async function post(path: string, body: unknown) {
  const res = await fetch(new URL(path, server.url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test("/api/chat-row: a packed row, its loss positions and its mask", async () => {
  const info = (await (await fetch(new URL("/api/info", server.url))).json()) as { mode?: string };
  assert.equal(info.mode, "chat");
  const { status, json } = await post("/api/chat-row", { conversations: CONVERSATIONS, pack: 100 });
  assert.equal(status, 200, JSON.stringify(json));
  const docs = json.document_ids as number[];
  const T = docs.length;
  assert.deepEqual([...new Set(docs)], [0, 1]);
  const mask = json.mask as { shape: number[]; data: number[] };
  assert.deepEqual(mask.shape, [T, T]);
  for (let i = 0; i < T; i++)
    for (let j = 0; j < T; j++)
      assert.equal(mask.data[i * T + j], j <= i && docs[i] === docs[j] ? 1 : 0);
  const texts = json.texts as string[];
  const loss = json.loss as boolean[];
  // What the loss positions predict: the two answers and their end-of-turn token.
  const predicted = (d: number) =>
    texts
      .slice(1)
      .filter((_, t) => loss[t] && docs[t] === d)
      .join("");
  assert.equal(predicted(0), "Hello!<|im_end|>");
  assert.equal(predicted(1), "Ciao.<|im_end|>");
  const bad = await post("/api/chat-row", { conversations: [{ messages: [{ role: 1 }] }] });
  assert.equal(bad.status, 400);
  assert.match(String(bad.json.error), /conversations\[0\] needs a messages list/);
  const far = await post("/api/chat-row", { conversations: CONVERSATIONS, row: 5 });
  assert.equal(far.status, 400);
  assert.match(String(far.json.error), /there is no row 5/);
  assert.equal((await post("/api/translate", { text: "x" })).status, 404);
});

test("the page draws a chat row", { timeout: 90_000 }, async (t) => {
  const CHROMIUM = "/usr/bin/chromium";
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === "true") assert.fail(`${CHROMIUM} is missing: .ci/run installs it`);
    t.skip(`${CHROMIUM} is not installed; browser test skipped`);
    return;
  }
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "maskwise-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(e.message));
    await page.goto(server.url);
    await page.waitForSelector("body[data-state=ready]");
    assert.equal(await page.isHidden("#translate-section"), true);
    await page.click("#chat-button");
    await page.waitForSelector("body[data-state=chat-shown]");
    const rows = (await page.locator("#chat-table tr").count()) - 1;
    const cells = await page.locator("#chat-mask svg rect.cell").count();
    assert.equal(cells, rows * rows);
    const lossRows = await page.locator("#chat-table tr.loss").count();
    assert.ok(lossRows > 0 && lossRows < rows, `${lossRows} of ${rows}`);
    assert.match((await page.textContent("#chat-summary")) ?? "", /2 conversation\(s\)/);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
