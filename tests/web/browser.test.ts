// The inspector page in a real headless Chromium (Debian's, driven by playwright-core) against a
// tiny model served on 127.0.0.1: translate, check the token table, the mask heat maps (SVG
// cells), the attention weight maps (canvas pixels) and the mask playground, and take a
// screenshot. Without /usr/bin/chromium the test skips with the reason, except in CI (CI=true),
// where .ci/run installs it and a skip would hide a broken page.
// MASKWISE_SCREENSHOT=path.png keeps a screenshot; MASKWISE_SERVE_MODEL=DIR serves that model
// instead of the tiny random one, with MASKWISE_SERVE_TEXT and MASKWISE_SERVE_PAD as the source
// and its padded length (docs/inspector.png is made this way, see docs/inspector.md).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startServer } from "../../src/node/server.js";
import { makeTinyModelDir } from "../helpers/tiny-model.js";

const CHROMIUM = "/usr/bin/chromium";
const WAIT = { timeout: 20_000 };

test("the inspector page translates and draws masks, weights and the playground", {
  timeout: 90_000,
}, async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === "true") assert.fail(`${CHROMIUM} is missing: .ci/run installs it`);
    const reason = `${CHROMIUM} is not installed (apt-get install chromium); browser test skipped`;
    console.log(reason);
    t.skip(reason);
    return;
  }
  const { chromium } = await import("playwright-core");
  const modelDir = process.env.MASKWISE_SERVE_MODEL ?? makeTinyModelDir();
  const server = await startServer({ modelDir, host: "127.0.0.1", port: 0 });
  const profile = mkdtempSync(join(tmpdir(), "maskwise-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    viewport: { width: 1280, height: 900 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(WAIT.timeout);
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    // Nothing but the inspector's own server may be reached.
    await context.route(
      (url) => url.hostname !== "127.0.0.1",
      (route) => {
        problems.push(`request to ${route.request().url()}`);
        return route.abort();
      },
    );

    const info = (await (await fetch(new URL("/api/info", server.url))).json()) as {
      config: Record<string, number>;
      special_tokens: Record<string, string>;
    };
    const { encoder_layers, decoder_layers, encoder_attention_heads, decoder_attention_heads } =
      info.config;
    await page.goto(server.url, WAIT);
    await page.waitForSelector("body[data-state=ready]", WAIT);
    assert.match((await page.textContent("#model-info")) ?? "", /d_model \d+/);
    // The playground draws on load, from the maskwise core running in the page.
    const pgCells = await page.locator("#pg-grid svg rect").count();
    assert.ok(pgCells >= 2 * 8 * 8, `playground cells: ${pgCells}`);
    assert.match(
      (await page.textContent("#pg-formula")) ?? "",
      /causal\(offset=0\).*padding\(\[8, 5\]\)/,
    );

    await page.fill(
      "#source-text",
      process.env.MASKWISE_SERVE_TEXT ?? "a small dog runs in the park",
    );
    await page.fill("#beam", "3");
    const padTo = Number(process.env.MASKWISE_SERVE_PAD ?? "14");
    await page.fill("#pad-to", String(padTo));
    await page.click("#translate-button");
    await page.waitForSelector("body[data-state=inspected]", WAIT);

    assert.equal(await page.locator("#hypotheses li").count(), 3);
    const S = (await page.locator("#source-table tr").count()) - 1;
    const T = (await page.locator("#target-table tr").count()) - 1;
    assert.ok(S >= padTo && T >= 1, `S=${S} T=${T}`);
    // The start token heads the decoder inputs.
    assert.equal(
      await page.textContent("#target-table tr:nth-child(2) td:nth-child(2)"),
      info.special_tokens.decoder_start,
    );

    // Masks: one SVG cell per query x key, and the source padding is masked.
    const cells = await page.locator("#masks svg rect.cell").count();
    assert.equal(cells, S * S + T * T + T * S);
    const masked = await page.locator('#masks svg rect.cell[fill="#eceff3"]').count();
    assert.ok(masked >= (T * (T - 1)) / 2, `masked cells: ${masked}`);
    assert.match((await page.textContent("#masks")) ?? "", /causal\(offset=0\)/);

    // Weights: 3 kinds x layers x heads canvases, each painted (not all white).
    // Counted in the page (a string, so this file needs no DOM types): non-white pixels per canvas.
    const painted =
      (await page.evaluate(`[...document.querySelectorAll("#weights canvas")].map((c) => {
      const { data } = c.getContext("2d").getImageData(0, 0, c.width, c.height);
      let coloured = 0;
      for (let k = 0; k < data.length; k += 4) if (data[k] < 250 || data[k + 2] < 250) coloured++;
      return coloured;
    })`)) as number[];
    assert.equal(
      painted.length,
      encoder_layers * encoder_attention_heads + 2 * decoder_layers * decoder_attention_heads,
    );
    assert.ok(
      painted.every((n: number) => n > 0),
      `a weight map is blank: ${painted}`,
    );
    assert.ok(await page.locator("#focus-canvas").isVisible());

    // The playground recomputes on input, and reports a bad spec instead of throwing.
    await page.fill("#pg-spec", "causal | prefix");
    assert.match(
      (await page.textContent("#pg-formula")) ?? "",
      /causal\(offset=0\) \| prefix\(3\)/,
    );
    await page.fill("#pg-spec", "causal & nonsense");
    assert.match((await page.textContent("#pg-error")) ?? "", /unknown mask 'nonsense'/);
    await page.click('.presets button[data-spec="causal & documents"]');
    assert.equal(await page.isHidden("#pg-error"), true);

    const shot = await page.screenshot({ fullPage: true });
    assert.ok(shot.length > 10_000 && shot.subarray(1, 4).toString() === "PNG");
    if (process.env.MASKWISE_SCREENSHOT) {
      await page.fill("#pg-spec", "causal & padding");
      await page.click("#hypotheses li:first-child");
      await page.waitForSelector("body[data-state=inspected]", WAIT);
      writeFileSync(process.env.MASKWISE_SCREENSHOT, await page.screenshot({ fullPage: true }));
    }
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
