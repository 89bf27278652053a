// One error type for everything maskwise reports to a user. It carries what is wrong, where
// (file, line, field, op, tensor), and what to do, so the CLI can print one line:
//   maskwise: <what is wrong> (<where>): <what to do>

/** `input`: the caller gave something wrong (CLI exit status 2). `failure`: anything else (1). */
export type ErrorKind = "input" | "failure";

export interface ErrorInfo {
  /** A stable machine-readable code, e.g. `E_SHAPE`, `E_FILE`, `E_ARG`. */
  code: string;
  /** Where the fault is: a file and line, a field, an op name. */
  where?: string;
  /** What the user can do about it. */
  hint?: string;
  kind?: ErrorKind;
}

export class MaskwiseError extends Error {
  readonly code: string;
  readonly where: string | undefined;
  readonly hint: string | undefined;
  readonly kind: ErrorKind;

  constructor(message: string, info: ErrorInfo) {
    super(message);
    this.name = "MaskwiseError";
    this.code = info.code;
    this.where = info.where;
    this.hint = info.hint;
    this.kind = info.kind ?? "input";
  }

  /** The one-line form the CLI prints. */
  toLine(): string {
    const where = this.where ? ` (${this.where})` : "";
    const hint = this.hint ? `: ${this.hint}` : "";
    return `maskwise: ${this.message}${where}${hint}`;
  }
}

/** Throws a MaskwiseError with code E_ASSERT when `cond` is false. */
export function check(cond: unknown, message: string, info?: Partial<ErrorInfo>): asserts cond {
  if (!cond) throw new MaskwiseError(message, { code: "E_ASSERT", ...info });
}

/** Formats a shape as `[2, 3, 4]` for error messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
