// The compressed PNG of charts (util/raster.ts): util/png.ts with a filter chosen row by row.
// There is one PNG writer (util/png.ts); this name stays for the callers that use it.
import { encodePng } from "./png.js";

/** Encodes `rgb` (width * height * 3 bytes, rows top to bottom) with adaptive row filters. */
export function encodePngDeflated(width: number, height: number, rgb: Uint8Array): Uint8Array {
  return encodePng(width, height, rgb, { filters: "adaptive" });
}
