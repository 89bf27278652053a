// The tensor layer's public surface: the Tensor type, creation, autograd, and the primitive ops.
export { backward, isGradEnabled, noGrad } from "./autograd.js";
export type { Backend, BinaryOp, GemmArgs, ReduceOp, UnaryOp } from "./backend.js";
export { getBackend, setBackend, withBackend } from "./dispatch.js";
export { add, div, maximum, mul, sub } from "./ops/elementwise.js";
export { matmul } from "./ops/matmul.js";
export { crossEntropy, dropout, layerNorm, rmsNorm } from "./ops/nn.js";
export { max, mean, sum } from "./ops/reduce.js";
export { embedding, fillWhereNot, where } from "./ops/select.js";
export { broadcastTo, concat, permute, reshape, slice, transpose } from "./ops/shape.js";
export { logSoftmax, softmax } from "./ops/softmax.js";
export {
  abs,
  erf,
  exp,
  gelu,
  geluNew,
  log,
  neg,
  relu,
  rsqrt,
  sigmoid,
  silu,
  sqrt,
  tanh,
} from "./ops/unary.js";
export {
  type MatmulPrecision,
  matmulPrecision,
  setMatmulPrecision,
  withMatmulPrecision,
} from "./precision.js";
export {
  type DType,
  full,
  intTensor,
  ones,
  parameter,
  randn,
  sizeOf,
  Tensor,
  tensor,
  uniform,
  zeros,
} from "./tensor.js";
