// Modules: objects that own named parameters and child modules, in the nesting that gives the
// checkpoint names (`model.encoder.layers.0.self_attn.q_proj.weight`). A module registers what
// it owns in its constructor; `namedParameters()` walks the tree in registration order.
import { parameter, type Tensor } from "../tensor/tensor.js";
import { fmtShape, MaskwiseError } from "../util/errors.js";

export abstract class Module {
  /** Dropout and other training-only behaviour switch on this. */
  training = true;
  private readonly ownParams = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /** Registers a parameter (a trainable copy of `init`) under `name` and returns it. */
  protected param(name: string, init: Tensor): Tensor {
    const p = parameter(init, name);
    this.ownParams.set(name, p);
    return p;
  }

  /**
   * Registers an existing parameter under a second name (tied weights: the output projection that
   * is the token embedding, one embedding shared by encoder and decoder). It is saved under every
   * name but trained once.
   */
  protected tie(name: string, existing: Tensor): Tensor {
    this.ownParams.set(name, existing);
    return existing;
  }

  /** Registers a child module under `name` and returns it. */
  protected child<M extends Module>(name: string, module: M): M {
    this.children.set(name, module);
    return module;
  }

  /** Removes the child module registered under `name` (an adapter taken off a layer). */
  protected dropChild(name: string): void {
    this.children.delete(name);
  }

  /** This module and every module below it with its dotted path ("" for this one), parents first. */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, c] of this.children) out.push(...c.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** Every parameter with its dotted path, parents first, in registration order. */
  namedParameters(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.ownParams) out.push([prefix + n, p]);
    for (const [n, c] of this.children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  /** Every distinct parameter once (tied weights appear once). */
  parameters(): Tensor[] {
    return [...new Set(this.namedParameters().map(([, p]) => p))];
  }

  /** The number of trainable values. */
  parameterCount(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  /** Switches training behaviour (dropout) on or off for this module and all below it. */
  train(on = true): this {
    this.training = on;
    for (const c of this.children.values()) c.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Copies values into the parameters by name. Every parameter must be present with the same
   * shape; with `strict` (default) unknown names are an error too. `source` names the file.
   */
  loadState(
    values: Map<string, { shape: readonly number[]; data: ArrayLike<number> }>,
    { strict = true, source = "state" } = {},
  ): void {
    const own = new Map(this.namedParameters());
    for (const [name, p] of own) {
      const v = values.get(name);
      if (!v) {
        throw new MaskwiseError(`missing tensor '${name}'`, {
          code: "E_CHECKPOINT",
          where: source,
          hint: "the checkpoint does not match this model's config",
        });
      }
      if (v.shape.length !== p.shape.length || v.shape.some((s, i) => s !== p.shape[i])) {
        throw new MaskwiseError(
          `tensor '${name}' has shape ${fmtShape(v.shape)}, the model expects ${fmtShape(p.shape)}`,
          {
            code: "E_CHECKPOINT",
            where: source,
            hint: "the checkpoint does not match this model's config",
          },
        );
      }
      p.f32.set(v.data);
    }
    if (strict) {
      const extra = [...values.keys()].filter((n) => !own.has(n));
      if (extra.length > 0) {
        throw new MaskwiseError(
          `unexpected tensors ${extra.slice(0, 5).join(", ")}${extra.length > 5 ? ", …" : ""}`,
          {
            code: "E_CHECKPOINT",
            where: source,
            hint: "the checkpoint does not match this model's config",
          },
        );
      }
    }
  }
}

/** A numbered list of modules (`layers.0`, `layers.1`, …). */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items;
    items.forEach((m, i) => {
      this.child(String(i), m);
    });
  }
}

/** A named group of modules with no computation of its own (`model` in `model.encoder…`). */
export class Container extends Module {
  add<M extends Module>(name: string, module: M): M {
    return this.child(name, module);
  }
}
