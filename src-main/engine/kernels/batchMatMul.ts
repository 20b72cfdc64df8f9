// BatchMatMul for the wasm backend with explicit transposes. The stock tfjs 4.22 wasm kernel
// with transposeA or transposeB set is 10-13x slower than transposing first and multiplying
// plain (MLP 784-256-256-10 shapes, batch 141: 26-32 ms against 2.4-2.6 ms), and every
// backward pass of a dense layer asks for exactly those transposed products (dx = dy W^T,
// dW = x^T dy). The transpose costs one copy of the smaller operand.
import * as tf from '@tensorflow/tfjs-core';
import type { BatchMatMulAttrs, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

function asTensor(info: TensorInfo): tf.Tensor {
  return info instanceof tf.Tensor ? info : tf.engine().makeTensorFromTensorInfo(info);
}

/** Swap the two innermost axes (operands arrive with rank 2 or more). */
function transposeInner(info: TensorInfo): tf.Tensor {
  const rank = info.shape.length;
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return tf.transpose(asTensor(info), perm);
}

/** `plain` is the stock kernel, used for the untransposed product. */
export function makeBatchMatMulWasm(plain: KernelFunc): KernelFunc {
  return (args) => {
    const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
    if (!transposeA && !transposeB) return plain(args);
    const { a, b } = args.inputs;
    if (!a || !b) throw new Error('BatchMatMul needs inputs a and b.');
    // Returned un-kept: tidy hands the product to the calling op's scope, which owns it.
    return tf.tidy(() => {
      const left = transposeA ? transposeInner(a) : asTensor(a);
      const right = transposeB ? transposeInner(b) : asTensor(b);
      return tf.matMul(left, right);
    });
  };
}
