// A restricted pickle reader: a pure interpreter of pickle opcodes over plain data, for the
// `data.pkl` inside PyTorch checkpoints. It builds values (None, bools, ints, floats, strings,
// bytes, tuples, lists, dicts) and hands every operation that would import or call something in
// Python (GLOBAL, REDUCE, NEWOBJ, BUILD, persistent ids) to the caller's `PickleHooks`, which
// accept only what they recognise. Nothing here can run code: a GLOBAL is only a name, and a
// name the hooks do not allow is an error before anything else happens.
//
// Opcodes understood: those of protocol 2 that torch.save writes and torch's weights_only loader
// reads (PROTO, STOP, MARK, GLOBAL, REDUCE, NEWOBJ, BUILD, BINPERSID, EMPTY_TUPLE/LIST/DICT/SET,
// TUPLE, TUPLE1-3, APPEND(S), SETITEM(S), ADDITEMS, NONE, NEWTRUE, NEWFALSE, BININT, BININT1,
// BININT2, LONG1, BINFLOAT, BINUNICODE, SHORT_BINSTRING, BINPUT, LONG_BINPUT, BINGET,
// LONG_BINGET), plus the protocol-3/4 data opcodes that only build plain values (BINBYTES,
// SHORT_BINBYTES, SHORT_BINUNICODE, MEMOIZE, FRAME). Anything else is an error naming the opcode.
//
// Robustness: every length is checked against the bytes left, stack and memo accesses are
// checked, and the loop advances at least one byte per opcode, so any input ends in a result or a
// MaskwiseError in time linear in its length.
import { MaskwiseError } from "../util/errors.js";

/** A Python tuple (kept apart from lists, which are JS arrays). */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A Python dict with string or integer keys, in insertion order. */
export class PyDict {
  readonly map = new Map<string | number, PyValue>();
  /** Set by BUILD: the attributes of a dict subclass (an OrderedDict's `_metadata`). */
  state: PyValue = null;
}

/** A GLOBAL the hooks allowed: only its name, never the Python object it names. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get path(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A value the hooks made (a storage, a tensor); opaque to the interpreter. */
export class PyObject {
  constructor(
    readonly kind: string,
    readonly value: unknown,
  ) {}
}

export type PyValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | PyTuple
  | PyValue[]
  | PyDict
  | PyGlobal
  | PyObject;

/** What a reader of one pickle dialect (e.g. torch checkpoints) allows. Each throws to refuse. */
export interface PickleHooks {
  /** GLOBAL module name: return the marker to push, or throw when the name is not allowed. */
  global(module: string, name: string): PyGlobal;
  /** REDUCE: call an allowed global with a tuple of arguments. */
  reduce(callable: PyValue, args: PyTuple): PyValue;
  /** NEWOBJ: cls.__new__(cls, *args). */
  newobj(cls: PyValue, args: PyTuple): PyValue;
  /** BUILD: obj.__setstate__(state); returns the object that stays on the stack. */
  build(obj: PyValue, state: PyValue): PyValue;
  /** BINPERSID: an object stored outside the pickle (a storage). */
  persistentLoad(pid: PyValue): PyValue;
}

const MARK = Symbol("mark");
type Slot = PyValue | typeof MARK;

/** Runs the pickle program in `bytes` and returns the object STOP leaves on the stack. */
export function unpickle(bytes: Uint8Array, hooks: PickleHooks, source: string): PyValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: Slot[] = [];
  const memo = new Map<number, PyValue>();
  let pos = 0;
  let op = 0;
  let opAt = 0;

  const fail = (
    what: string,
    hint = "the checkpoint is damaged or not a PyTorch weights file",
  ): never => {
    throw new MaskwiseError(what, {
      code: "E_PICKLE",
      where: `${source}: pickle byte ${opAt}`,
      hint,
    });
  };
  const need = (n: number): number => {
    if (n < 0 || pos + n > bytes.length)
      fail(
        `opcode 0x${op.toString(16)} needs ${n} bytes, the pickle ends after ${bytes.length - pos}`,
      );
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => bytes[need(1)];
  const u32 = () => view.getUint32(need(4), true);
  const text = (n: number): string => {
    const at = need(n);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(at, at + n));
    } catch {
      return fail("a string is not valid UTF-8");
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail("GLOBAL name runs to the end of the pickle");
    const s = text(end - pos);
    pos = end + 1;
    return s;
  };
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined) fail("the pickle pops from an empty stack");
    if (v === MARK) fail("the pickle pops a MARK as a value");
    return v as PyValue;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) fail("the pickle uses the top of an empty stack");
    return v as PyValue;
  };
  /** Pops everything down to the topmost MARK (and the MARK). */
  const popMark = (): PyValue[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) fail("the pickle has no MARK to pop to");
    const items = stack.splice(at) as PyValue[];
    items.shift();
    return items;
  };
  const get = (key: number): PyValue => {
    if (!memo.has(key)) fail(`the pickle reads memo ${key}, which was never stored`);
    return memo.get(key) as PyValue;
  };
  const setItems = (dict: PyValue, items: PyValue[]) => {
    if (!(dict instanceof PyDict)) fail("SETITEM(S) on something that is not a dict");
    if (items.length % 2) fail("SETITEMS with an odd number of values");
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i];
      if (typeof k !== "string" && typeof k !== "number")
        fail("a dict key is neither a string nor an integer");
      (dict as PyDict).map.set(k as string | number, items[i + 1]);
    }
  };

  for (;;) {
    opAt = pos;
    op = u8();
    switch (op) {
      case 0x80: // PROTO n
        if (u8() > 5) fail("pickle protocol above 5");
        break;
      case 0x95: // FRAME n (protocol 4): only a length hint for buffered readers
        need(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`STOP with ${stack.length} values on the stack (needs 1)`);
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x63: // GLOBAL module\nname\n
        stack.push(hooks.global(line(), line()));
        break;
      case 0x52: {
        // REDUCE: callable(*args)
        const args = pop();
        const fn = pop();
        if (!(args instanceof PyTuple)) fail("REDUCE arguments are not a tuple");
        stack.push(hooks.reduce(fn, args as PyTuple));
        break;
      }
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args)
        const args = pop();
        const cls = pop();
        if (!(args instanceof PyTuple)) fail("NEWOBJ arguments are not a tuple");
        stack.push(hooks.newobj(cls, args as PyTuple));
        break;
      }
      case 0x62: {
        // BUILD: obj.__setstate__(state)
        const state = pop();
        const obj = pop();
        stack.push(hooks.build(obj, state));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop()));
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x8f: // EMPTY_SET: a set is read as a list of its members
        stack.push([]);
        break;
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) fail("APPEND to something that is not a list");
        (list as PyValue[]).push(v);
        break;
      }
      case 0x65: // APPENDS
      case 0x90: {
        // ADDITEMS (to a set, read as a list)
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail("APPENDS to something that is not a list");
        for (const v of items) (list as PyValue[]).push(v);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT: signed 32-bit
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(view.getUint16(need(2), true));
        break;
      case 0x8a: {
        // LONG1: n bytes of little-endian two's complement
        const n = u8();
        if (n > 6) fail(`an integer of ${n} bytes is too large for this reader`);
        const at = need(n);
        let v = 0;
        for (let i = n - 1; i >= 0; i--) v = v * 256 + bytes[at + i];
        if (n > 0 && bytes[at + n - 1] & 0x80) v -= 2 ** (8 * n);
        stack.push(v);
        break;
      }
      case 0x47: // BINFLOAT: big-endian float64
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x55: {
        // SHORT_BINSTRING: Python 2 str, read as latin-1 text
        const n = u8();
        const at = need(n);
        stack.push(String.fromCharCode(...bytes.subarray(at, at + n)));
        break;
      }
      case 0x42: {
        // BINBYTES
        const n = u32();
        const at = need(n);
        stack.push(bytes.slice(at, at + n));
        break;
      }
      case 0x43: {
        // SHORT_BINBYTES
        const n = u8();
        const at = need(n);
        stack.push(bytes.slice(at, at + n));
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(get(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(get(u32()));
        break;
      default:
        fail(
          `pickle opcode 0x${op.toString(16).padStart(2, "0")} is not allowed in a weights file`,
          "only plain data and tensors can be read; re-save the weights with torch.save(state_dict) or as safetensors",
        );
    }
  }
}
