// The CPU this process runs on, as a bug report or a benchmark needs it: its model name and the
// instruction-set flags that decide which kernels run (AVX2, AVX-512 and its bfloat16 dot
// product and VNNI, AMX tiles). Read from /proc/cpuinfo (Linux); elsewhere the model comes from
// Node and the flags are unknown, recorded as none rather than as absent.

import { existsSync, readFileSync } from "node:fs";
import { cpus } from "node:os";

/** The flags recorded, in the kernels' order of preference. */
export const CPU_FLAGS = [
  "avx2",
  "avx512f",
  "avx512_bf16",
  "avx512_vnni",
  "amx_tile",
  "amx_bf16",
  "amx_int8",
] as const;

export interface CpuInfo {
  model: string;
  /** Each of CPU_FLAGS, true or false; empty where the flags could not be read. */
  flags: Partial<Record<(typeof CPU_FLAGS)[number], boolean>>;
}

/** The model and flags from the text of /proc/cpuinfo (its first processor's lines). */
export function parseCpuinfo(text: string, fallbackModel: string): CpuInfo {
  const model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1].trim() ?? fallbackModel;
  const line = /^flags\s*:\s*(.+)$/m.exec(text)?.[1];
  if (line === undefined) return { model, flags: {} };
  const have = new Set(line.trim().split(/\s+/));
  return { model, flags: Object.fromEntries(CPU_FLAGS.map((f) => [f, have.has(f)])) };
}

export function readCpu(): CpuInfo {
  const fallback = cpus()[0]?.model ?? "unknown CPU";
  if (!existsSync("/proc/cpuinfo")) return { model: fallback, flags: {} };
  return parseCpuinfo(readFileSync("/proc/cpuinfo", "utf8"), fallback);
}

/** "avx2; no avx512f, avx512_bf16, ..." (the flags present, then those known absent). */
export function describeFlags(flags: Partial<Record<string, boolean>>): string {
  const has = CPU_FLAGS.filter((f) => flags[f] === true);
  const lacks = CPU_FLAGS.filter((f) => flags[f] === false);
  return [
    has.join(", ") || "none of the recorded flags",
    lacks.length > 0 ? `no ${lacks.join(", ")}` : null,
  ]
    .filter((p) => p !== null)
    .join("; ");
}
