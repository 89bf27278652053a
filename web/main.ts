// The inspector page. It talks to the JSON API of `maskwise serve` (src/node/server.ts) for the
// model's work, and runs the mask playground locally on the maskwise core itself
// (src/attention: browser-safe), so what the playground draws is what the library computes.
// `document.body.dataset.state` says what the page has done (ready, translated, inspected,
// error): the browser test waits on it.
import { renderSvg } from "../src/attention/render.js";
import { parseMaskSpec, type SpecParams } from "../src/attention/spec.js";
import { esc, focusCanvas, maskSvg, weightsCanvas } from "./heatmap.js";

interface Dense {
  shape: number[];
  data: number[];
}
interface TokenRow {
  ids: number[];
  tokens: string[];
}
interface Hypothesis extends TokenRow {
  text: string | null;
  score: number;
  log_prob: number;
}
interface Grid {
  formula: string;
  shape: [number, number];
  data: number[];
}
interface Inspection {
  source: TokenRow & { attention_mask: number[] };
  target: {
    decoder_input_ids: TokenRow;
    labels: TokenRow;
    predicted: TokenRow;
    label_log_probs: number[];
  };
  loss: number;
  masks: { encoder_self: Grid; decoder_self: Grid; cross: Grid };
  weights: { encoder_self: Dense; decoder_self: Dense; cross: Dense };
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function setState(state: string): void {
  document.body.dataset.state = state;
}

async function api<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(json.error ?? `HTTP ${res.status}`);
  return json as T;
}

function showError(message: string | null): void {
  const el = $("error");
  el.hidden = message === null;
  el.textContent = message ?? "";
}

// ---- translate and inspect ----------------------------------------------------------------------

let lastText = "";

async function translate(event: Event): Promise<void> {
  event.preventDefault();
  const text = $<HTMLInputElement>("source-text").value;
  const beam = Number($<HTMLInputElement>("beam").value) || 1;
  showError(null);
  setState("busy");
  try {
    const r = await api<{ hypotheses: Hypothesis[] }>("/api/translate", {
      text,
      beam,
      n_best: beam,
    });
    lastText = text;
    const list = $("hypotheses");
    list.replaceChildren();
    r.hypotheses.forEach((h, k) => {
      const li = document.createElement("li");
      li.innerHTML = `<span class="hyp">${esc(h.text ?? h.tokens.join(" "))}</span><span class="score">score ${h.score.toFixed(3)} · log p ${h.log_prob.toFixed(2)} · ${h.ids.length} tokens</span>`;
      li.addEventListener("click", () => {
        for (const other of list.children) other.classList.remove("selected");
        li.classList.add("selected");
        void inspect(h);
      });
      if (k === 0) li.classList.add("selected");
      list.append(li);
    });
    setState("translated");
    if (r.hypotheses.length > 0) await inspect(r.hypotheses[0]);
  } catch (e) {
    showError((e as Error).message);
    setState("error");
  }
}

async function inspect(h: Hypothesis): Promise<void> {
  try {
    const r = await api<Inspection>("/api/inspect", {
      text: lastText,
      target_ids: h.ids,
      pad_source_to: Number($<HTMLInputElement>("pad-to").value) || 0,
    });
    renderTokens(r);
    renderMasks(r);
    renderWeights(r);
    setState("inspected");
  } catch (e) {
    showError((e as Error).message);
    setState("error");
  }
}

function renderTokens(r: Inspection): void {
  $("tokens-section").hidden = false;
  const src = r.source;
  const srcRows = src.ids
    .map(
      (id, j) =>
        `<tr><td>${j}</td><td class="${src.attention_mask[j] ? "" : "pad"}">${esc(src.tokens[j])}</td><td>${id}</td><td>${src.attention_mask[j]}</td></tr>`,
    )
    .join("");
  $("source-table").innerHTML =
    `<caption>source (encoder input)</caption><tr><th>j</th><th>token</th><th>id</th><th>attention_mask</th></tr>${srcRows}`;
  const t = r.target;
  const tgtRows = t.labels.ids
    .map(
      (id, k) =>
        `<tr><td>${k}</td><td class="${k === 0 ? "start" : ""}">${esc(t.decoder_input_ids.tokens[k])}</td><td>${t.decoder_input_ids.ids[k]}</td><td>${esc(t.labels.tokens[k])}</td><td>${id}</td><td>${esc(t.predicted.tokens[k])}</td><td>${t.label_log_probs[k].toFixed(3)}</td></tr>`,
    )
    .join("");
  $("target-table").innerHTML =
    `<caption>target (teacher forcing; loss ${r.loss.toFixed(3)})</caption><tr><th>t</th><th>decoder input</th><th>id</th><th>label</th><th>id</th><th>predicted</th><th>log p(label)</th></tr>${tgtRows}`;
}

function renderMasks(r: Inspection): void {
  $("masks-section").hidden = false;
  const src = r.source.tokens;
  const dec = r.target.decoder_input_ids.tokens;
  const panels: [string, Grid, string[], string[]][] = [
    ["encoder self-attention", r.masks.encoder_self, src, src],
    ["decoder self-attention", r.masks.decoder_self, dec, dec],
    ["cross-attention", r.masks.cross, dec, src],
  ];
  $("masks").innerHTML = panels
    .map(
      ([title, g, rows, cols]) =>
        `<figure class="panel mask" data-kind="${title}"><figcaption>${title}: <code>${esc(g.formula)}</code></figcaption>${maskSvg(g.data, g.shape[0], g.shape[1], rows, cols)}</figure>`,
    )
    .join("");
}

function renderWeights(r: Inspection): void {
  $("weights-section").hidden = false;
  const src = r.source.tokens;
  const dec = r.target.decoder_input_ids.tokens;
  const kinds: [string, Dense, string[], string[]][] = [
    ["cross-attention (alignment)", r.weights.cross, dec, src],
    ["decoder self-attention", r.weights.decoder_self, dec, dec],
    ["encoder self-attention", r.weights.encoder_self, src, src],
  ];
  const root = $("weights");
  root.replaceChildren();
  const focus = $("focus");
  let selected: HTMLCanvasElement | null = null;
  for (const [title, w, rows, cols] of kinds) {
    const [L, H, Tq, Tk] = w.shape;
    const h3 = document.createElement("h3");
    h3.textContent = title;
    const grid = document.createElement("div");
    grid.className = "heads";
    grid.dataset.kind = title;
    grid.style.gridTemplateColumns = `56px repeat(${H}, max-content)`;
    for (let l = 0; l < L; l++) {
      const label = document.createElement("div");
      label.className = "label";
      label.textContent = `layer ${l}`;
      grid.append(label);
      for (let h = 0; h < H; h++) {
        const offset = (l * H + h) * Tq * Tk;
        const c = weightsCanvas(w.data, offset, Tq, Tk);
        c.title = `${title}, layer ${l}, head ${h}`;
        const show = () => {
          selected?.classList.remove("selected");
          selected = c;
          c.classList.add("selected");
          const big = focusCanvas(w.data, offset, Tq, Tk, rows, cols);
          big.id = "focus-canvas";
          const caption = document.createElement("h3");
          caption.textContent = `${title}, layer ${l}, head ${h} (queries down, keys across)`;
          focus.replaceChildren(caption, big);
        };
        c.addEventListener("click", show);
        grid.append(c);
        // Start on the last layer's first cross-attention head: the alignment.
        if (selected === null && l === L - 1 && h === 0) show();
      }
    }
    root.append(h3, grid);
  }
}

// ---- chat training rows (a decoder-only chat model) ---------------------------------------------

interface ChatRow {
  ids: number[];
  tokens: string[];
  texts: string[];
  labels: number[];
  loss: boolean[];
  position_ids: number[];
  document_ids: number[];
  rows: number;
  mask: Grid;
}

async function showChatRow(event: Event): Promise<void> {
  event.preventDefault();
  const err = $("chat-error");
  err.hidden = true;
  setState("busy");
  try {
    const lines = $<HTMLTextAreaElement>("chat-input")
      .value.split("\n")
      .filter((l) => l.trim() !== "");
    const conversations = lines.map((l, k) => {
      try {
        return JSON.parse(l);
      } catch {
        throw new Error(`line ${k + 1} is not JSON`);
      }
    });
    const r = await api<ChatRow>("/api/chat-row", {
      conversations,
      pack: Number($<HTMLInputElement>("chat-pack").value) || 0,
      row: Number($<HTMLInputElement>("chat-row").value) || 0,
    });
    const T = r.ids.length;
    const shown = (s: string) => JSON.stringify(s).slice(1, -1);
    $("chat-summary").textContent =
      `row ${Number($<HTMLInputElement>("chat-row").value) || 0} of ${r.rows}: ${T} tokens, ` +
      `${new Set(r.document_ids).size} conversation(s), ${r.loss.filter((x) => x).length} positions carry loss`;
    const rows = r.ids
      .map(
        (id, t) =>
          `<tr class="${r.loss[t] ? "loss" : ""}"><td>${t}</td><td>${r.position_ids[t]}</td><td>${r.document_ids[t]}</td><td>${esc(shown(r.texts[t]))}</td><td>${id}</td><td>${r.loss[t] ? esc(shown(r.texts[t + 1] ?? "")) : ""}</td></tr>`,
      )
      .join("");
    $("chat-table").innerHTML =
      `<caption>tokens (loss rows marked: they predict the assistant's next token)</caption><tr><th>t</th><th>position</th><th>document</th><th>token</th><th>id</th><th>predicts (loss)</th></tr>${rows}`;
    const labels = r.texts.map((x, t) => `${t} ${shown(x)}`);
    $("chat-mask").innerHTML =
      `<figure class="panel mask" data-kind="chat"><figcaption>self-attention: <code>${esc(r.mask.formula)}</code></figcaption>${maskSvg(r.mask.data, T, T, labels, labels)}</figure>`;
    setState("chat-shown");
  } catch (e) {
    err.textContent = (e as Error).message;
    err.hidden = false;
    setState("error");
  }
}

// ---- the mask playground (runs the maskwise core here) -----------------------------------------

function ints(text: string): number[] | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  return t.split(",").map((s) => {
    const n = Number(s.trim());
    if (s.trim() === "" || !Number.isInteger(n) || n < 0 || n > 512)
      throw new Error(`'${text}' must be non-negative integers separated by commas`);
    return n;
  });
}

function num(id: string, min: number, max: number): number {
  const n = Number($<HTMLInputElement>(id).value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${id.replace("pg-", "")} must be an integer from ${min} to ${max}`);
  return n;
}

function drawPlayground(): void {
  const err = $("pg-error");
  try {
    const spec = $<HTMLInputElement>("pg-spec").value;
    const params: SpecParams = {
      offset: num("pg-offset", 0, 64),
      window: num("pg-window", 1, 64),
      prefix: num("pg-prefix", 0, 64),
      lengths: ints($<HTMLInputElement>("pg-lengths").value),
      segments: ints($<HTMLInputElement>("pg-segments").value),
    };
    // Only the names the spec uses need their parameters; a padding mask sets the batch.
    if (!/\bpadding\b/.test(spec)) params.lengths = undefined;
    if (!/\bdocuments\b/.test(spec)) params.segments = undefined;
    const Tq = num("pg-q", 1, 64);
    const Tk = num("pg-kv", 1, 64);
    const mask = parseMaskSpec(spec, params);
    const B = mask.batch ?? 1;
    if (B > 8) throw new Error("at most 8 batch rows (lengths) in the playground");
    $("pg-grid").innerHTML = renderSvg({ mask, B, Tq, Tk });
    $("pg-formula").textContent = mask.describe();
    err.hidden = true;
  } catch (e) {
    err.textContent = (e as Error).message;
    err.hidden = false;
  }
}

async function start(): Promise<void> {
  $("translate-form").addEventListener("submit", (e) => void translate(e));
  $("playground-form").addEventListener("input", drawPlayground);
  $("playground-form").addEventListener("submit", (e) => e.preventDefault());
  for (const b of document.querySelectorAll<HTMLButtonElement>(".presets button")) {
    b.addEventListener("click", () => {
      $<HTMLInputElement>("pg-spec").value = b.dataset.spec ?? "";
      drawPlayground();
    });
  }
  drawPlayground();
  $("chat-form").addEventListener("submit", (e) => void showChatRow(e));
  try {
    const chat = await api<{ mode?: string; config: Record<string, number | string | boolean> }>(
      "/api/info",
    );
    if (chat.mode === "chat") {
      const c = chat.config;
      $("translate-section").hidden = true;
      $("chat-section").hidden = false;
      $("model-info").textContent =
        `${c.maskwise_arch}: a chat model, d_model ${c.d_model}, ${c.decoder_layers} layers, ` +
        `vocabulary ${c.vocab_size}`;
      setState("ready");
      return;
    }
    const info = await api<{
      config: Record<string, number | string | boolean>;
      has_tokenizer: boolean;
      special_tokens: Record<string, string>;
    }>("/api/info");
    const c = info.config;
    $("model-info").textContent =
      `${c.maskwise_arch}: d_model ${c.d_model}, ${c.encoder_layers}+${c.decoder_layers} layers, ` +
      `${c.encoder_attention_heads} heads, vocabulary ${c.vocab_size}, ` +
      `${c.normalize_before ? "pre-norm" : "post-norm"}; decoder start ${info.special_tokens.decoder_start}, ` +
      `eos ${info.special_tokens.eos}, pad ${info.special_tokens.pad}` +
      (info.has_tokenizer ? "" : " (no tokenizer.json: the page needs one to translate text)");
    setState("ready");
  } catch (e) {
    showError((e as Error).message);
    setState("error");
  }
}

void start();
