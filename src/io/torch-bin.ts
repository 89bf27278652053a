// PyTorch checkpoints (`pytorch_model.bin`, anything torch.save wrote since torch 1.6), read the
// way `torch.load(weights_only=True)` reads them, and nothing more.
//
// The file is a zip archive. Its entries share one folder name (torch uses the file's stem, or
// "archive"):
//   <dir>/data.pkl      the pickled object: for a state dict, an OrderedDict name -> tensor
//   <dir>/data/<key>    one entry per storage: its raw elements, little-endian
//   <dir>/byteorder     "little" (absent in files from before torch 1.10, which were little too)
//   <dir>/version, <dir>/.format_version, <dir>/.storage_alignment, ...: not needed to read
//
// In data.pkl a tensor is `torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
// requires_grad, backward_hooks)`, where `storage` is a persistent id
// ('storage', torch.FloatStorage, '<key>', 'cpu', numel) naming the data/<key> entry. Element
// [i0, i1, ...] of the tensor is storage element offset + i0*stride[0] + i1*stride[1] + ...,
// so a transposed or sliced view, a stride-0 expansion and tensors sharing a storage (tied
// weights) all come out as contiguous arrays of their own.
//
// The allow-list below is the part of weights_only's list that a state dict uses. A GLOBAL
// outside it (os.system, builtins.eval, any class) is refused by name the moment the interpreter
// meets it; a REDUCE, NEWOBJ or BUILD is interpreted only for the globals and objects listed here.
import { MaskwiseError } from "../util/errors.js";
import { type ByteSource, memorySource } from "./byte-source.js";
import {
  type PickleHooks,
  PyDict,
  PyGlobal,
  PyObject,
  PyTuple,
  type PyValue,
  unpickle,
} from "./pickle.js";
import {
  decodeTensorData,
  dtypeWidth,
  isFloatDType,
  type SafeDType,
  type SafeTensor,
} from "./safetensors.js";
import { type InflateRaw, openZip, type ZipArchive } from "./zip-archive.js";

/** torch's legacy storage classes (what a persistent id names) and the dtype each holds. */
const STORAGES: Record<string, SafeDType> = {
  "torch.FloatStorage": "F32",
  "torch.DoubleStorage": "F64",
  "torch.HalfStorage": "F16",
  "torch.BFloat16Storage": "BF16",
  "torch.LongStorage": "I64",
  "torch.IntStorage": "I32",
  "torch.ShortStorage": "I16",
  "torch.CharStorage": "I8",
  "torch.ByteStorage": "U8",
  "torch.BoolStorage": "BOOL",
  "torch.UntypedStorage": "U8",
  "torch.storage.UntypedStorage": "U8",
};

/** torch dtypes, which newer rebuild functions and metadata name as globals. */
const DTYPES = [
  "float32",
  "float",
  "float64",
  "double",
  "float16",
  "half",
  "bfloat16",
  "int64",
  "long",
  "int32",
  "int",
  "int16",
  "short",
  "int8",
  "uint8",
  "bool",
].map((d) => `torch.${d}`);

/** Functions and classes a REDUCE or NEWOBJ may apply (interpreted below, never looked up). */
const CALLABLE = new Set([
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_tensor",
  "torch._utils._rebuild_parameter",
  "torch._utils._rebuild_parameter_with_state",
  "torch.nn.parameter.Parameter",
  "collections.OrderedDict",
  "collections.Counter",
  "builtins.set",
  "builtins.bytearray",
  "torch.Size",
  "torch.device",
  "torch.serialization._get_layout",
  "_codecs.encode",
]);

/** Modules torch refuses even when a user allow-lists them. */
const BLOCKED_MODULES = new Set(["os", "posix", "nt", "sys", "subprocess"]);

interface Storage {
  dtype: SafeDType;
  numel: number;
  /** The zip entry holding the elements, read when a tensor first uses them. */
  entry: string;
  /** The elements converted, made on first use; tensors on this storage copy from it. */
  values?: Float32Array | Int32Array;
  /** Whether `values` became one tensor's data (the others copy, so no two tensors alias). */
  givenAway?: boolean;
}

export interface TorchLoadOptions {
  /** For deflated zip entries (torch writes stored ones); node:zlib's inflateRawSync on Node. */
  inflateRaw?: InflateRaw;
}

/** The object in a PyTorch checkpoint, with tensors as PyObject("tensor", SafeTensor). */
export function readTorchPickle(
  file: Uint8Array | ByteSource,
  source: string,
  options: TorchLoadOptions = {},
): PyValue {
  const bytes = file instanceof Uint8Array ? memorySource(file) : file;
  const refuse = (what: string, hint: string): never => {
    throw new MaskwiseError(what, { code: "E_TORCH_BIN", where: source, hint });
  };
  const magic = bytes.read(0, Math.min(2, bytes.length));
  if (magic.length === 2 && magic[0] === 0x80 && magic[1] <= 5)
    refuse(
      "this is the legacy (torch < 1.6) checkpoint format, which is not supported",
      "load it in Python and save it again with torch.save, or as safetensors",
    );
  const zip = openZip(bytes, source, options.inflateRaw);
  const pkl = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkl.length !== 1) {
    refuse(
      pkl.length === 0
        ? "no <folder>/data.pkl in the archive: not a torch.save checkpoint"
        : `the archive holds ${pkl.length} data.pkl files`,
      zip.entries.has("constants.pkl") ||
        [...zip.entries.keys()].some((n) => n.endsWith("/constants.pkl"))
        ? "this is a TorchScript archive (torch.jit.save); save the state_dict with torch.save instead"
        : "pass a file written by torch.save",
    );
  }
  const dir = pkl[0].slice(0, -"data.pkl".length);
  if (zip.entries.has(`${dir}byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${dir}byteorder`)).trim();
    if (order !== "little")
      refuse(
        `byteorder is ${JSON.stringify(order)}`,
        "only little-endian checkpoints are supported",
      );
  }
  return unpickle(
    zip.read(pkl[0]),
    torchHooks(zip, dir, source, bytes.length),
    `${source}: ${pkl[0]}`,
  );
}

/**
 * The tensors of a PyTorch state dict, by name, each converted to float32 or int32 and keeping the
 * dtype it was saved in. A checkpoint that wraps the state dict (`{"state_dict": {...}}` or
 * `{"model": {...}}`, as training scripts save) is unwrapped; values that are not tensors are
 * left out.
 */
export function parseTorchStateDict(
  bytes: Uint8Array | ByteSource,
  source: string,
  options: TorchLoadOptions = {},
): Map<string, SafeTensor> {
  const root = readTorchPickle(bytes, source, options);
  const tensorsOf = (d: PyDict): Map<string, SafeTensor> => {
    const out = new Map<string, SafeTensor>();
    for (const [k, v] of d.map)
      if (v instanceof PyObject && v.kind === "tensor") out.set(String(k), v.value as SafeTensor);
    return out;
  };
  if (!(root instanceof PyDict)) {
    throw new MaskwiseError("the checkpoint does not hold a dict of tensors", {
      code: "E_TORCH_BIN",
      where: source,
      hint: "save model.state_dict(), not the model object",
    });
  }
  const tensors = tensorsOf(root);
  if (tensors.size === 0) {
    for (const key of ["state_dict", "model"]) {
      const inner = root.map.get(key);
      if (inner instanceof PyDict) return tensorsOf(inner);
    }
  }
  return tensors;
}

function torchHooks(zip: ZipArchive, dir: string, source: string, fileBytes: number): PickleHooks {
  const storages = new Map<string, Storage>();
  // Tensors may share storages and a stride-0 view repeats elements, so what a file expands to is
  // not bounded by its size; this bound still stops a damaged size from allocating gigabytes.
  let budget = 16 * fileBytes + (1 << 20);
  const fail = (
    what: string,
    hint = "the checkpoint is damaged or not a PyTorch weights file",
  ): never => {
    throw new MaskwiseError(what, { code: "E_TORCH_BIN", where: source, hint });
  };
  const unsafe = (what: string): never => {
    throw new MaskwiseError(what, {
      code: "E_UNSAFE_PICKLE",
      where: source,
      hint: "a weights file may only hold tensors, storages, dtypes and plain data; this one was refused without running anything",
    });
  };
  const int = (v: PyValue, what: string): number => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
      fail(`${what} is not a non-negative integer`);
    return v as number;
  };
  const ints = (v: PyValue, what: string): number[] => {
    if (!(v instanceof PyTuple)) fail(`${what} is not a tuple`);
    return (v as PyTuple).items.map((x, i) => int(x, `${what}[${i}]`));
  };
  const calleeOf = (v: PyValue, op: string): string => {
    if (!(v instanceof PyGlobal))
      return unsafe(`${op} applies something that is not an allowed function`);
    if (!CALLABLE.has(v.path)) return unsafe(`${op} of ${v.path} is not allowed`);
    return v.path;
  };

  const rebuildTensor = (args: PyValue[]): PyObject => {
    const [storage, offsetV, sizeV, strideV] = args;
    if (!(storage instanceof PyObject) || storage.kind !== "storage")
      fail("a tensor is rebuilt from something that is not a storage");
    const s = (storage as PyObject).value as Storage;
    const offset = int(offsetV, "storage offset");
    const shape = ints(sizeV, "tensor size");
    const stride = ints(strideV, "tensor stride");
    if (stride.length !== shape.length)
      fail(`size has ${shape.length} dims and stride ${stride.length}`);
    let count = 1;
    let last = offset;
    for (let d = 0; d < shape.length; d++) {
      count *= shape[d];
      last += (shape[d] - 1) * stride[d];
    }
    if (count > 0 && last >= s.numel)
      fail(`a tensor of size [${shape.join(", ")}] reads storage element ${last} of ${s.numel}`);
    budget -= count;
    if (budget < 0) fail("the tensors expand to far more elements than the file holds");
    s.values ??= decodeTensorData(zip.read(s.entry), 0, s.numel, s.dtype, `${source}: ${s.entry}`);
    const src = s.values;
    let data: Float32Array | Int32Array;
    if (!s.givenAway && offset === 0 && count === s.numel && isContiguous(shape, stride)) {
      // The usual case, a tensor that is its whole storage: it takes the converted array itself
      // (no second copy of a large checkpoint); a later tensor on this storage copies from it.
      data = src;
      s.givenAway = true;
    } else {
      data = isFloatDType(s.dtype) ? new Float32Array(count) : new Int32Array(count);
      if (count > 0) gather(src, data, offset, shape, stride);
    }
    const tensor: SafeTensor = { dtype: s.dtype, shape, data };
    return new PyObject("tensor", tensor);
  };

  return {
    global(module, name) {
      const path = `${module}.${name}`;
      if (BLOCKED_MODULES.has(module))
        unsafe(`refused GLOBAL ${path}: module ${module} is never allowed`);
      if (!(path in STORAGES) && !DTYPES.includes(path) && !CALLABLE.has(path))
        unsafe(`refused GLOBAL ${path}: not a tensor, storage or dtype name`);
      return new PyGlobal(module, name);
    },
    reduce(fn, args) {
      const a = args.items;
      switch (calleeOf(fn, "REDUCE")) {
        case "torch._utils._rebuild_tensor_v2":
        case "torch._utils._rebuild_tensor":
          if (a.length < 4) fail("a tensor rebuild has fewer than 4 arguments");
          return rebuildTensor(a);
        case "torch._utils._rebuild_parameter":
        case "torch._utils._rebuild_parameter_with_state":
        case "torch.nn.parameter.Parameter":
          if (!(a[0] instanceof PyObject) || a[0].kind !== "tensor")
            fail("a Parameter wraps something that is not a tensor");
          return a[0];
        case "collections.OrderedDict":
        case "collections.Counter": {
          // OrderedDict() or OrderedDict([(key, value), ...]).
          const d = new PyDict();
          const pairs = a[0];
          if (Array.isArray(pairs)) {
            for (const p of pairs) {
              if (!(p instanceof PyTuple) || p.items.length !== 2)
                fail("OrderedDict items are not pairs");
              const [k, v] = (p as PyTuple).items;
              if (typeof k !== "string" && typeof k !== "number")
                fail("a dict key is neither a string nor an integer");
              d.map.set(k as string | number, v);
            }
          } else if (a.length > 0 && a[0] !== null)
            fail("OrderedDict built from something that is not a list");
          return d;
        }
        case "builtins.set":
          return Array.isArray(a[0]) ? [...a[0]] : [];
        case "builtins.bytearray":
          return a[0] instanceof Uint8Array ? a[0] : new Uint8Array(0);
        case "torch.Size":
          return a[0] instanceof PyTuple ? a[0] : new PyTuple([]);
        case "torch.device":
        case "torch.serialization._get_layout":
          if (typeof a[0] !== "string")
            fail("torch.device or layout named by something that is not a string");
          return a[0];
        case "_codecs.encode": {
          // How protocol 2 stores bytes: _codecs.encode(text, "latin1").
          if (typeof a[0] !== "string" || a[1] !== "latin1")
            fail("_codecs.encode other than latin1 text");
          return Uint8Array.from(a[0] as string, (c) => c.charCodeAt(0) & 0xff);
        }
        default:
          return unsafe(`REDUCE of ${(fn as PyGlobal).path} is not allowed`);
      }
    },
    newobj(cls, args) {
      const path = calleeOf(cls, "NEWOBJ");
      if (path === "collections.OrderedDict" || path === "collections.Counter") return new PyDict();
      if (path === "builtins.set") return [];
      if (path === "torch.nn.parameter.Parameter") return this.reduce(cls, args);
      return unsafe(`NEWOBJ of ${path} is not allowed`);
    },
    build(obj, state) {
      // weights_only allows BUILD on tensors, Parameters and OrderedDicts: the state of a tensor
      // is Python attributes (ignored), that of an OrderedDict its attributes (`_metadata`).
      if (obj instanceof PyObject && obj.kind === "tensor") return obj;
      if (obj instanceof PyDict) {
        obj.state = state;
        return obj;
      }
      return unsafe("BUILD on something that is not a tensor or a dict");
    },
    persistentLoad(pid) {
      // ('storage', storage class, key, location, numel)
      if (!(pid instanceof PyTuple) || pid.items.length !== 5 || pid.items[0] !== "storage")
        fail("a persistent id is not ('storage', class, key, location, numel)");
      const [, cls, key, , numelV] = (pid as PyTuple).items;
      if (!(cls instanceof PyGlobal) || !(cls.path in STORAGES))
        return unsafe("a persistent id names something that is not a storage class");
      if (typeof key !== "string") fail("a storage key is not a string");
      const known = storages.get(key as string);
      if (known) return new PyObject("storage", known);
      const dtype = STORAGES[(cls as PyGlobal).path];
      const numel = int(numelV, "storage size");
      const entry = `${dir}data/${key}`;
      if (!zip.entries.has(entry)) fail(`storage ${key} has no ${entry} in the archive`);
      const have = zip.entries.get(entry)?.uncompressedSize ?? 0;
      if (have < numel * dtypeWidth(dtype))
        fail(
          `${entry} holds ${have} bytes; ${numel} elements of ${dtype} need ${numel * dtypeWidth(dtype)}`,
        );
      const s: Storage = { dtype, numel, entry };
      storages.set(key as string, s);
      return new PyObject("storage", s);
    },
  };
}

/** Row-major contiguous: the last stride 1, each stride the product of the sizes after it. */
function isContiguous(shape: number[], stride: number[]): boolean {
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expect) return false;
    expect *= shape[d];
  }
  return true;
}

/**
 * Copies a strided view of `src` into the contiguous `out`: out[i] for the row-major index
 * i = (i0, i1, ...) is src[offset + i0*stride[0] + i1*stride[1] + ...]. The innermost dimension is
 * a plain loop; an odometer over the outer ones moves the source position by their strides.
 */
function gather(
  src: Float32Array | Int32Array,
  out: Float32Array | Int32Array,
  offset: number,
  shape: number[],
  stride: number[],
): void {
  const nd = shape.length;
  if (nd === 0) {
    out[0] = src[offset];
    return;
  }
  const inner = shape[nd - 1];
  const step = stride[nd - 1];
  const idx = new Array<number>(nd - 1).fill(0);
  let base = offset;
  for (let o = 0; o < out.length; o += inner) {
    if (step === 1) out.set(src.subarray(base, base + inner), o);
    else for (let j = 0; j < inner; j++) out[o + j] = src[base + j * step];
    // Advance the odometer over the outer dimensions, last one fastest.
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      base += stride[d];
      if (idx[d] < shape[d]) break;
      base -= idx[d] * stride[d];
      idx[d] = 0;
    }
  }
}
