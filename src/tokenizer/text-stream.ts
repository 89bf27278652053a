// Text of generated tokens as they come, for streaming: each new token may complete some text,
// or only part of a character (byte-level BPE and byte fallback split a character's UTF-8 bytes
// over several tokens, which decode to U+FFFD until the last one arrives). A window of recent
// tokens is decoded and compared with the same window without the newest ones: what it adds is
// printed once it no longer ends in U+FFFD. Decoding a window, not one token alone, keeps what a
// decoder does at word starts (SentencePiece's leading space, merged pieces) the same as for the
// whole text.
export class TextStream {
  private readonly ids: number[] = [];
  /** ids[prefix, read) were printed; decoding starts at prefix for context. */
  private prefix = 0;
  private read = 0;

  constructor(private readonly decode: (ids: readonly number[]) => string) {}

  /** The text `id` completes (may be empty). */
  push(id: number): string {
    this.ids.push(id);
    const before = this.decode(this.ids.slice(this.prefix, this.read));
    const now = this.decode(this.ids.slice(this.prefix));
    if (now.length <= before.length || now.endsWith("\uFFFD")) return "";
    this.prefix = this.read;
    this.read = this.ids.length;
    return now.slice(before.length);
  }

  /** What is still held back at the end (an incomplete character, printed as decoded). */
  flush(): string {
    const before = this.decode(this.ids.slice(this.prefix, this.read));
    const now = this.decode(this.ids.slice(this.prefix));
    this.prefix = this.read = this.ids.length;
    return now.length > before.length ? now.slice(before.length) : "";
  }
}
