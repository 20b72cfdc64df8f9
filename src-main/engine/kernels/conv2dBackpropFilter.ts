// Conv2DBackpropFilter for the wasm backend, which tfjs 4.22 does not ship (so no conv layer can
// train on wasm without it). Built from kernels wasm does have (Slice, Transpose and the XNNPACK
// Conv2D), so it runs at SIMD speed rather than as a scalar loop.
//
// The filter gradient is itself a convolution. With xp the padded input,
//   dW[a,b,c,o] = sum_{n,i,j} xp[n, a + sh*i, b + sw*j, c] * dy[n,i,j,o]
// which is a stride-1 convolution of xp^T = [C, H, W, N] (batch and channels swapped) with the
// filter dy^T = [outH, outW, N, O] dilated by the forward stride; its [C, fh, fw, O] output is
// transposed back to [fh, fw, C, O].
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import type { Conv2DBackpropFilterAttrs, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

type Shape4 = [number, number, number, number];

/**
 * A Tensor view of a kernel input. The engine normally passes Tensors already; a bare TensorInfo
 * (a kernel called directly) gets a fresh handle on the same data, which the enclosing tidy
 * disposes without freeing the caller's data (the handle only holds a reference).
 */
export function asTensor4D(info: TensorInfo): tf.Tensor4D {
  const t = info instanceof tf.Tensor ? info : tf.engine().makeTensorFromTensorInfo(info);
  return t as tf.Tensor4D;
}

export function conv2dBackpropFilterImpl(x: TensorInfo, dy: TensorInfo, attrs: Conv2DBackpropFilterAttrs): tf.Tensor4D {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (dataFormat !== 'NHWC') {
    throw new Error(
      `Conv2DBackpropFilter on wasm supports dataFormat 'NHWC' only (got '${dataFormat}'); ` +
        'the layers of this workbench are channels-last.',
    );
  }
  // The same geometry tfjs uses for the forward pass, so 'same' with a size not divisible by the
  // stride gets the same (floor(total/2)) top/left padding as Conv2D and the cpu kernel.
  const info = backend_util.computeConv2DInfo(
    x.shape as Shape4,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, outHeight, outWidth, padInfo } = info;
  if (
    dy.shape.length !== 4 ||
    dy.shape[0] !== info.batchSize ||
    dy.shape[1] !== outHeight ||
    dy.shape[2] !== outWidth ||
    dy.shape[3] !== info.outChannels
  ) {
    throw new Error(`Conv2DBackpropFilter: dy shape [${dy.shape}] does not match the conv output [${info.outShape}].`);
  }

  // Rows/cols of the padded input the gradient reads: a + sh*i with a < fh, i < outH. Pad up to
  // that (padInfo.bottom may be more, e.g. 'valid' leaves unread rows) and crop any excess, so
  // the dilated convolution below yields exactly fh x fw.
  const needH = fh + sh * (outHeight - 1);
  const needW = fw + sw * (outWidth - 1);
  const bottom = needH - info.inHeight - padInfo.top;
  const right = needW - info.inWidth - padInfo.left;

  return tf.tidy(() => {
    let xs = asTensor4D(x);
    if (bottom < 0 || right < 0) {
      xs = tf.slice(xs, [0, 0, 0, 0], [-1, info.inHeight + Math.min(0, bottom), info.inWidth + Math.min(0, right), -1]);
    }
    const xT = tf.transpose(xs, [3, 1, 2, 0]); // [C, H', W', N]
    const dyT = tf.transpose(asTensor4D(dy), [1, 2, 0, 3]); // [outH, outW, N, O]
    // The padding goes to the convolution itself (XNNPACK pads implicitly), which is cheaper than
    // a PadV2 copy. Conv2D allows stride or dilation > 1, not both: stride 1, dilation = stride.
    const padding: [[number, number], [number, number], [number, number], [number, number]] = [
      [0, 0],
      [padInfo.top, Math.max(0, bottom)],
      [padInfo.left, Math.max(0, right)],
      [0, 0],
    ];
    const g = tf.conv2d(xT, dyT, 1, padding, 'NHWC', [sh, sw]); // [C, fh, fw, O]
    // Returned un-kept: tidy hands it to the caller's scope (the op that ran this kernel), which
    // owns and disposes it like any kernel output. A tf.keep-ed result would leak whenever it is
    // an intermediate of an enclosing tidy (as in tf.grad).
    return tf.transpose(g, [1, 2, 0, 3]);
  });
}

export const conv2dBackpropFilterWasm: KernelFunc = ({ inputs, attrs }) => {
  const { x, dy } = inputs;
  if (!x || !dy) throw new Error('Conv2DBackpropFilter needs inputs x and dy.');
  return conv2dBackpropFilterImpl(x, dy, attrs as unknown as Conv2DBackpropFilterAttrs);
};
