// A 5x7 bitmap font for printable ASCII (32..126), so pictures made without a font file (PNG
// charts in a browser or on a machine with no fonts installed) can still carry text. Each glyph is
// a string of 7 or 9 base-32 digits, one per pixel row from the top; a row's 5 bits are its
// columns, the high bit on the left. Capitals and digits use rows 0..6 (row 6 sits on the
// baseline); g j p q y and the comma add rows 7..8 below it.

/** Advance of one character in font pixels (5 columns and a blank one). */
export const GLYPH_ADVANCE = 6;
/** Rows above the baseline (the cap height) and below it (descenders). */
export const GLYPH_ASCENT = 7;
export const GLYPH_DESCENT = 2;

const PACKED =
  "0000000 4444404 aaa0000 aavavaa 4fke5u4 op248j3 cik8lid 4440000 2488842 8422248 " +
  "04lel40 044v440 000004480 000v000 00000cc 01248g0 ehjlphe 4c4444e eh1248v v2421he " +
  "26aiv22 vgu11he 68guhhe v124888 ehhehhe ehhf12c 0cc0cc0 0cc0c48 248g842 00v0v00 " +
  "8421248 eh12404 ehnlngf ehhvhhh uhhuhhu ehggghe sihhhis vgguggv vgguggg ehgnhhf " +
  "hhhvhhh e44444e 72222ic hikokih ggggggv hrllhhh hhpljhh ehhhhhe uhhuggg ehhhlid " +
  "uhhukih fgge11u v444444 hhhhhhe hhhhha4 hhhllla hha4ahh hha4444 v1248gv e88888e " +
  "0g84210 e22222e 4ah0000 000000v 8400000 00e1fhf ggmphhu 00egghe 11djhhf 00ehvge " +
  "698s888 00fhhf11e ggmphhh 40c444e 2062222ic ggikoki c44444e 00qllll 00mphhh 00ehhhe " +
  "00uhhuggg 00fhhf111 00mpggg 00fge1u 88s8896 00hhhjd 00hhha4 00hhlla 00ha4ah " +
  "00hhhf11e 00v248v 2448442 4444444 8442448 008l200";

const GLYPHS: number[][] = PACKED.split(" ").map((g) => [...g].map((c) => parseInt(c, 32)));

/** The pixel rows of a character (5 bits each); unknown characters get a hollow box. */
export function glyphRows(ch: string): readonly number[] {
  const code = ch.charCodeAt(0);
  if (code >= 32 && code <= 126) return GLYPHS[code - 32];
  return BOX;
}

const BOX = [0b11111, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11111];
