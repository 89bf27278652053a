// The HTTP server of `maskwise serve`: the inspector page and its JSON API (an encoder-decoder's
// translation and attention; for a decoder-only chat model, its chat training rows).
//
// Safety by construction: the model directory is read once, at start; after that no request
// touches the file system. Static assets are a fixed table held in memory (the page's TypeScript
// is bundled by `npm run build`, or with esbuild at start in a checkout), so no URL can name a
// file, and `..` in a path is just an unknown route. Bodies are capped while they stream in;
// every handler runs inside one try/catch that turns errors into a JSON reply, so a request can
// fail but never take the server down.
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { ModelConfig } from "../models/config.js";
import { familyOf } from "../models/registry.js";
import { pretrainedCodec } from "../train/translate.js";
import { MaskwiseError } from "../util/errors.js";
import { ChatInspector } from "./chat-inspector.js";
import { ApiError, Inspector, type InspectorLimits, type InspectorTokenizer } from "./inspector.js";
import { loadConfig, loadEncoderDecoder, loadTokenizer } from "./model-dir.js";
import { hasTokenizerFiles } from "./pretrained-run-tokenizer.js";
import { CHAT_TEMPLATE_FILE, loadModelTokenizer } from "./tokenizer-files.js";

/** Whether a model directory has a chat template (chat_template.jinja, or in tokenizer_config.json). */
function hasChatTemplate(dir: string): boolean {
  if (existsSync(join(dir, CHAT_TEMPLATE_FILE))) return true;
  const path = join(dir, "tokenizer_config.json");
  if (!existsSync(path)) return false;
  try {
    return JSON.parse(readFileSync(path, "utf8")).chat_template !== undefined;
  } catch {
    return false;
  }
}

/** The page's sources: web/ at the package root. */
export const WEB_DIR = join(import.meta.dirname, "..", "..", "web");
/**
 * The page built ahead of time by `npm run build` (scripts/build.mjs): dist/web/ beside this
 * file's compiled copy, holding app.js (the bundle), index.html and style.css. An installed
 * package serves it, since esbuild is a development tool; a checkout running the sources has no
 * src/web/ and bundles web/ at start, so the page always matches the sources.
 */
export const BUILT_WEB_DIR = join(import.meta.dirname, "..", "web");

export interface ServeOptions {
  modelDir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  limits?: Partial<InspectorLimits>;
}

export interface RunningServer {
  server: Server;
  /** e.g. http://127.0.0.1:7878/ */
  url: string;
  close(): Promise<void>;
}

interface Asset {
  type: string;
  body: string | Uint8Array;
}

/** Bundles web/main.ts (and the maskwise core it imports) for the browser with esbuild. */
export async function bundlePageScript(): Promise<string> {
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch {
    throw new MaskwiseError("esbuild is not installed, so the page cannot be bundled", {
      code: "E_DEPENDENCY",
      where: "maskwise serve",
      hint: "run npm install in the maskwise checkout, or 'npm run build' to build the page once",
      kind: "failure",
    });
  }
  const result = await esbuild.build({
    entryPoints: [join(WEB_DIR, "main.ts")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}

/** The page's files: built ahead of time where they are, bundled from web/ now otherwise. */
export async function buildPage(): Promise<Map<string, Asset>> {
  const built = existsSync(join(BUILT_WEB_DIR, "app.js"));
  const dir = built ? BUILT_WEB_DIR : WEB_DIR;
  const read = (name: string) => readFileSync(join(dir, name), "utf8");
  const js = built ? read("app.js") : await bundlePageScript();
  return new Map<string, Asset>([
    ["/", { type: "text/html; charset=utf-8", body: read("index.html") }],
    ["/index.html", { type: "text/html; charset=utf-8", body: read("index.html") }],
    ["/style.css", { type: "text/css; charset=utf-8", body: read("style.css") }],
    ["/app.js", { type: "text/javascript; charset=utf-8", body: js }],
  ]);
}

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
  // The page loads only its own script and style, and talks only to this server.
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
};

function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array) {
  res.writeHead(status, { "content-type": type, ...SECURITY_HEADERS });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown) {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(value));
}

/**
 * Reads a body of at most `limit` bytes. A longer one is drained (so the client reads our 413
 * instead of a reset connection) up to 16 times the limit, and cut off beyond that.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = Number.isFinite(declared) && declared > limit;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooBig = true;
      if (size > 16 * limit) {
        req.destroy();
        return;
      }
      if (!tooBig) chunks.push(chunk);
    });
    req.on("end", () => {
      if (tooBig) reject(new ApiError(413, `the request body is over the ${limit}-byte limit`));
      else resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
    // A client that goes away mid-body ends the request without "end".
    req.on("close", () => {
      if (!req.complete) reject(new ApiError(400, "the request body was cut off"));
    });
  });
}

/** What the server answers: /api/info, and POST routes with JSON bodies. */
interface Api {
  info(): unknown;
  handlers: Record<string, (body: unknown) => unknown>;
  maxBodyBytes: number;
}

async function handleApi(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  api: Api,
): Promise<void> {
  if (path === "/api/info") {
    if (req.method !== "GET") throw new ApiError(405, "use GET for /api/info");
    sendJson(res, 200, api.info());
    return;
  }
  const handler = api.handlers[path];
  if (!handler) throw new ApiError(404, `no API route ${path}`);
  if (req.method !== "POST") throw new ApiError(405, `use POST for ${path}`);
  const type = String(req.headers["content-type"] ?? "");
  if (!/^application\/json\b/i.test(type))
    throw new ApiError(415, "send the body as JSON with content-type: application/json");
  const raw = await readBody(req, api.maxBodyBytes);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch (e) {
    throw new ApiError(400, `the body is not valid JSON: ${(e as Error).message}`);
  }
  sendJson(res, 200, handler(body));
}

/**
 * The model directory's tokenizer for the inspector: a transformers directory's own files
 * (tokenizer.json, a SentencePiece model, Marian's source.spm/target.spm), maskwise's
 * tokenizer.json otherwise; null when there is none (requests then give ids).
 */
function inspectorTokenizer(dir: string, config: ModelConfig): InspectorTokenizer | null {
  if (familyOf(config).source === "transformers" && hasTokenizerFiles(dir)) {
    const tok = loadModelTokenizer(dir);
    const codec = pretrainedCodec(tok, config.eos_token_id);
    return {
      encode: (text, side) =>
        side === "target" && codec.encodeTarget ? codec.encodeTarget(text) : codec.encode(text),
      decode: (ids, o) => codec.decode(ids, o),
      idToToken: (id) => tok.idToToken(id),
    };
  }
  const tok = loadTokenizer(dir);
  if (tok === null) return null;
  return {
    encode: (text) => tok.encode(text),
    decode: (ids, o) => tok.decode(ids, o),
    idToToken: (id) => tok.idToToken(id),
  };
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  // The page shows encoder self-attention, decoder self-attention and cross-attention, which
  // only an encoder-decoder has: other families are refused before anything is loaded or bundled.
  const config = loadConfig(options.modelDir);
  const family = familyOf(config);
  let api: Api;
  if (family.inspectable) {
    const model = loadEncoderDecoder(options.modelDir);
    const inspector = new Inspector(
      model,
      inspectorTokenizer(options.modelDir, model.config),
      options.limits,
    );
    api = {
      info: () => inspector.info(),
      handlers: {
        "/api/translate": (b) => inspector.translate(b),
        "/api/inspect": (b) => inspector.inspect(b),
      },
      maxBodyBytes: inspector.limits.maxBodyBytes,
    };
  } else if (family.structure === "decoder-only" && hasChatTemplate(options.modelDir)) {
    // A chat model: the page shows how chat fine-tuning reads conversations.
    const chat = new ChatInspector(config, loadModelTokenizer(options.modelDir));
    api = {
      info: () => chat.info(),
      handlers: { "/api/chat-row": (b) => chat.chatRow(b) },
      maxBodyBytes: chat.limits.maxBodyBytes,
    };
  } else {
    throw new MaskwiseError(
      `maskwise serve inspects encoder-decoder models only; this is ${family.structure === "encoder-only" ? "an" : "a"} ${family.structure} model`,
      {
        code: "E_CONFIG",
        where: options.modelDir,
        hint: family.decoding
          ? "serve an encoder-decoder model directory, or a chat model's (its tokenizer_config.json with a chat_template); continue prompts with 'maskwise generate'"
          : "serve an encoder-decoder model directory (maskwise_arch encoder-decoder)",
      },
    );
  }
  const assets = await buildPage();

  const server = createServer(async (req, res) => {
    try {
      // Only the path counts; the host part of this URL is a placeholder and never fetched.
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      if (path.startsWith("/api/")) {
        await handleApi(req, res, path, api);
        return;
      }
      const asset = assets.get(path);
      if (!asset) throw new ApiError(404, `not found: ${path}`);
      if (req.method !== "GET" && req.method !== "HEAD") throw new ApiError(405, "use GET");
      send(res, 200, asset.type, req.method === "HEAD" ? "" : asset.body);
    } catch (e) {
      let status = 500;
      let message: string;
      let field: string | undefined;
      if (e instanceof ApiError) {
        status = e.status;
        message = e.message;
        field = e.field;
      } else if (e instanceof MaskwiseError) {
        status = e.kind === "input" ? 400 : 500;
        message = e.toLine().replace(/^maskwise: /, "");
      } else {
        message = `internal error: ${(e as Error)?.message ?? String(e)}`;
      }
      if (res.headersSent) res.destroy();
      else sendJson(res, status, field ? { error: message, field } : { error: message });
    }
  });
  // A malformed request line or header gets a plain 400 instead of an uncaught error.
  server.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
    else socket.destroy();
  });
  server.requestTimeout = 60_000;
  server.headersTimeout = 10_000;

  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new MaskwiseError(`cannot listen on ${host}:${options.port ?? 0}: ${e.code ?? e.message}`, {
          code: "E_LISTEN",
          where: "maskwise serve",
          hint: e.code === "EADDRINUSE" ? "pick another --port" : "check --host and --port",
        }),
      ),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    server,
    url: `http://${shown}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
