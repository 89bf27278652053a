// SentencePiece's byte fallback, decoding side (Hugging Face's `ByteFallback` decoder): runs of
// <0xNN> tokens become the text their bytes spell, or one U+FFFD per byte when the run is not
// valid UTF-8; every other token passes through.

const HEX = /^(?:\+[0-9a-fA-F]|[0-9a-fA-F]{2})$/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function byteOf(token: string): number | null {
  if (token.length !== 6 || !token.startsWith("<0x") || !token.endsWith(">")) return null;
  const hex = token.slice(3, 5);
  return HEX.test(hex) ? Number.parseInt(hex, 16) : null;
}

export function byteFallbackDecode(tokens: readonly string[]): string[] {
  const out: string[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    try {
      out.push(strictUtf8.decode(new Uint8Array(run)));
    } catch {
      for (let k = 0; k < run.length; k++) out.push("\uFFFD");
    }
    run = [];
  };
  for (const t of tokens) {
    const b = byteOf(t);
    if (b !== null) {
      run.push(b);
      continue;
    }
    flush();
    out.push(t);
  }
  flush();
  return out;
}
