// Reverse-mode automatic differentiation over a tape of ops (as micrograd and tinygrad do it: a
// few rules over few primitives).
//
// Each op that produces a tensor from inputs that need gradients attaches a TapeNode to its
// output: the inputs, and a `backward` that, given the output's gradient, adds each input's
// gradient into a buffer that `sink(i)` hands out. `backward(loss)` visits the nodes in reverse
// topological order. Leaf tensors (parameters) keep their gradient in `.grad`, accumulating over
// calls until the optimizer or the caller zeroes it; intermediate gradients are dropped as soon as
// they have been used, and the tape is cut after the pass so its memory can be collected.
import { fmtShape, MaskwiseError } from "../util/errors.js";
import { allocF32, releaseF32 } from "./pool.js";
import { Tensor } from "./tensor.js";

/**
 * Where an op writes the gradient of its input i. `g` has the input's size. When `acc` is false
 * the buffer is fresh (all zeros) and the op may overwrite it; when true it already holds other
 * contributions and the op must add. Returns null when input i needs no gradient. An op must
 * finish writing one input's gradient before asking for the next: the same tensor can be two
 * inputs (x * x), and then the second call returns the first buffer with acc = true.
 *
 * `overwrite` is the op's promise that, given a fresh buffer, it writes every element of it:
 * the buffer is then handed out without being zeroed first (its contents are garbage). Most
 * ops' gradients are dense and complete (a GEMM with beta 0, an element-wise product), and
 * zeroing a few hundred megabytes a step that are overwritten at once costs a training step
 * several percent; ops that write only part (scatter-add, slice) leave it false.
 */
export type GradSink = (i: number, overwrite?: boolean) => { g: Float32Array; acc: boolean } | null;

/**
 * Hands the output's gradient `gy` itself to input i as that input's gradient, instead of a
 * copy: for ops whose gradient passes through unchanged (reshape, the residual stream's add).
 * Returns false, and does nothing, when the input needs no gradient, already has one, is a
 * leaf, or differs in size; the op then goes through `sink` as usual. After a true return the
 * op must not write `gy` again nor hand it to another input.
 */
export type GradAdopt = (i: number) => boolean;

export interface TapeNode {
  op: string;
  inputs: Tensor[];
  backward(gy: Float32Array, sink: GradSink, adopt: GradAdopt): void;
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording anything on the tape (inference, evaluation, optimizer steps). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/**
 * Attaches a tape node to `out` when gradients are on and some input requires them.
 * Returns `out` for chaining.
 */
export function record(
  out: Tensor,
  op: string,
  inputs: Tensor[],
  backward: (gy: Float32Array, sink: GradSink, adopt: GradAdopt) => void,
): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}

export interface BackwardOptions {
  /**
   * Recycle the memory of every intermediate value of the graph as soon as the pass no longer
   * needs it (src/tensor/pool.ts). Only for a caller that reads nothing computed on the way to
   * `root` after backward() returns (a training step: the loss has been read, the parameters
   * and their gradients are leaves and are kept); such a tensor's data is then garbage.
   */
  freeIntermediates?: boolean;
}

/**
 * Computes gradients of `root` with respect to every leaf that requires them. `root` must be a
 * scalar unless `gradient` (same shape as root) is given.
 */
export function backward(root: Tensor, gradient?: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new MaskwiseError("backward() on a tensor that does not require gradients", {
      code: "E_GRAD",
      where: "backward",
      hint: "make sure a parameter takes part in the computation and noGrad() is not active",
    });
  }
  if (gradient === undefined && root.size !== 1) {
    throw new MaskwiseError(`backward() needs a scalar, got shape ${fmtShape(root.shape)}`, {
      code: "E_SHAPE",
      where: "backward",
      hint: "reduce the output to a scalar loss, or pass the output gradient",
    });
  }
  if (gradient !== undefined && gradient.size !== root.size) {
    throw new MaskwiseError(
      `gradient of shape ${fmtShape(gradient.shape)} for an output of shape ${fmtShape(root.shape)}`,
      { code: "E_SHAPE", where: "backward" },
    );
  }

  // Reverse topological order by an iterative depth-first search (graphs can be deep).
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, next] = top;
    const inputs = t.node?.inputs ?? [];
    if (next < inputs.length) {
      top[1]++;
      const child = inputs[next];
      if (child.requiresGrad && !seen.has(child)) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }

  const rootIsLeaf = root.node === null;
  const grads = new Map<Tensor, Float32Array>();
  const rootGrad = gradient ? Float32Array.from(gradient.data) : new Float32Array(1).fill(1);
  grads.set(root, rootGrad);

  const bufferFor = (t: Tensor, overwrite: boolean): { g: Float32Array; acc: boolean } => {
    if (t.node === null) {
      // A leaf: its gradient lives in t.grad and accumulates across backward() calls.
      if (t.grad === null) {
        t.grad = new Tensor(allocF32(t.size, !overwrite), t.shape);
        return { g: t.grad.f32, acc: false };
      }
      return { g: t.grad.f32, acc: true };
    }
    const existing = grads.get(t);
    if (existing) return { g: existing, acc: true };
    const fresh = allocF32(t.size, !overwrite);
    grads.set(t, fresh);
    return { g: fresh, acc: false };
  };

  // With freeIntermediates: how many tensors of the graph hold each buffer (views share one).
  // A buffer is recycled when the last of them has run its backward, since in reverse
  // topological order every consumer of a value runs before the value itself. Leaves and the
  // root never count down, so their buffers (and any view's of them) are never recycled.
  const holders = options.freeIntermediates ? new Map<ArrayBufferLike, number>() : null;
  if (holders) {
    for (const t of order) holders.set(t.data.buffer, (holders.get(t.data.buffer) ?? 0) + 1);
  }

  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    const node = t.node;
    if (node === null) continue;
    const gy = grads.get(t);
    grads.delete(t);
    if (gy !== undefined) {
      let adopted = false;
      node.backward(
        gy,
        (j, overwrite = false) =>
          node.inputs[j].requiresGrad ? bufferFor(node.inputs[j], overwrite) : null,
        (j) => {
          const input = node.inputs[j];
          if (adopted || gy === rootGrad || !input.requiresGrad || input.node === null)
            return false;
          if (input.size !== gy.length || grads.has(input)) return false;
          grads.set(input, gy);
          adopted = true;
          return true;
        },
      );
      // The gradient of an intermediate is used only by its own node's backward (or has become
      // an input's gradient).
      if (gy !== rootGrad && !adopted) releaseF32(gy);
    }
    t.node = null; // cut the tape behind us: the activations it holds can be collected
    if (holders && t !== root) {
      const left = (holders.get(t.data.buffer) ?? 1) - 1;
      holders.set(t.data.buffer, left);
      if (left === 0 && t.data instanceof Float32Array) releaseF32(t.data);
    }
  }
  // A root that is itself a leaf (backward on a parameter) gets its own gradient.
  if (rootIsLeaf) {
    const { g, acc } = bufferFor(root, false);
    for (let k = 0; k < g.length; k++) g[k] = acc ? g[k] + rootGrad[k] : rootGrad[k];
  }
}
