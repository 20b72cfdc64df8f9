// Conv2DBackpropInput for the wasm backend. The stock tfjs 4.22 wasm kernel is a plain scalar
// loop; this one phrases the input gradient as a forward convolution so it runs on XNNPACK.
//
//   dx[n,h,w,c] = sum dy[n,i,j,o] * W[a,b,c,o]   over  h + padTop = sh*i + a,  w + padLeft = sw*j + b
//
// is a stride-1 'valid' convolution of dy zero-spaced by the stride (sh-1 zeros between rows,
// sw-1 between columns) and padded by fh-1-padTop / fw-1-padLeft, with the filter flipped
// spatially and its in/out channels swapped ([fh, fw, O, C]).
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import type { Conv2DBackpropInputAttrs, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { asTensor4D } from './conv2dBackpropFilter.js';

export function conv2dBackpropInputImpl(
  dy: TensorInfo,
  filter: TensorInfo,
  attrs: Conv2DBackpropInputAttrs,
): tf.Tensor4D {
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  if (dataFormat !== 'NHWC') {
    throw new Error(`Conv2DBackpropInput (XNNPACK path) supports dataFormat 'NHWC' only (got '${dataFormat}').`);
  }
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const {
    batchSize: n,
    filterHeight: fh,
    filterWidth: fw,
    strideHeight: sh,
    strideWidth: sw,
    outHeight,
    outWidth,
    outChannels,
    padInfo,
  } = info;
  if (
    dy.shape.length !== 4 ||
    dy.shape[0] !== n ||
    dy.shape[1] !== outHeight ||
    dy.shape[2] !== outWidth ||
    dy.shape[3] !== outChannels
  ) {
    throw new Error(`Conv2DBackpropInput: dy shape [${dy.shape}] does not match the conv output [${info.outShape}].`);
  }

  return tf.tidy(() => {
    let d = asTensor4D(dy);
    // Zero-spacing: append sh-1 zero rows after every row and sw-1 zero columns after every column
    // (a pad of a 5-D view), then fold back. The trailing zeros after the last row/column are
    // simply part of the bottom/right padding computed below.
    let curH = outHeight;
    let curW = outWidth;
    if (sh > 1 || sw > 1) {
      const d5 = tf.reshape(d, [n * outHeight, 1, outWidth, 1, outChannels]);
      const spaced = tf.pad(d5, [
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ]);
      curH = outHeight * sh;
      curW = outWidth * sw;
      d = tf.reshape(spaced, [n, curH, curW, outChannels]);
    }
    // The 'valid' conv over fh x fw must produce inHeight x inWidth, so the padded dy needs
    // inHeight + fh - 1 rows starting fh-1-padTop rows above dy's first row. Either side can
    // come out negative (large explicit pads, 'valid' leaving input rows unread): crop those,
    // and give the positive amounts to the convolution as explicit padding (XNNPACK pads
    // implicitly, cheaper than a PadV2 copy of dy).
    const top = fh - 1 - padInfo.top;
    const left = fw - 1 - padInfo.left;
    const bottom = info.inHeight + fh - 1 - top - curH;
    const right = info.inWidth + fw - 1 - left - curW;
    if (top < 0 || left < 0 || bottom < 0 || right < 0) {
      const [cropT, cropL] = [Math.max(0, -top), Math.max(0, -left)];
      const size = [-1, curH - cropT - Math.max(0, -bottom), curW - cropL - Math.max(0, -right), -1];
      d = tf.slice(d, [0, cropT, cropL, 0], size);
    }
    const padding: [[number, number], [number, number], [number, number], [number, number]] = [
      [0, 0],
      [Math.max(0, top), Math.max(0, bottom)],
      [Math.max(0, left), Math.max(0, right)],
      [0, 0],
    ];
    const w = tf.transpose(tf.reverse(asTensor4D(filter), [0, 1]), [0, 1, 3, 2]); // [fh, fw, O, C]
    // Returned un-kept: tidy hands it to the calling op's scope, which owns it.
    return tf.conv2d(d, w, 1, padding);
  });
}

/**
 * Build the kernel. NCHW (which the layers never use) goes to `fallback`, the stock kernel, so
 * replacing it loses no functionality.
 */
export function makeConv2dBackpropInputWasm(fallback?: KernelFunc): KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
    if (attrs.dataFormat !== 'NHWC' && fallback) return fallback(args);
    const { dy, filter } = args.inputs;
    if (!dy || !filter) throw new Error('Conv2DBackpropInput needs inputs dy and filter.');
    return conv2dBackpropInputImpl(dy, filter, attrs);
  };
}
