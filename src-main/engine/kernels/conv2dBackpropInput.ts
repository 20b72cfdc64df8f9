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

export function conv2dBackpropInputImpl(dy: TensorInfo, filter: TensorInfo, attrs: Conv2DBackpropInputAttrs): tf.Tensor4D {
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  if (dataFormat !== 'NHWC') {
    throw new Error(
      `Conv2DBackpropInput (XNNPACK path) supports dataFormat 'NHWC' only (got '${dataFormat}').`,
    );
  }
  const info = backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, 'channelsLast',
  );
  const { batchSize: n, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, outHeight, outWidth, outChannels, padInfo } = info;
  if (dy.shape.length !== 4 || dy.shape[0] !== n || dy.shape[1] !== outHeight || dy.shape[2] !== outWidth || dy.shape[3] !== outChannels) {
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
      const spaced = tf.pad(d5, [[0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
      curH = outHeight * sh;
      curW = outWidth * sw;
      d = tf.reshape(spaced, [n, curH, curW, outChannels]);
    }
    // The 'valid' conv over fh x fw must produce inHeight x inWidth, so the padded dy needs
    // inHeight + fh - 1 rows starting fh-1-padTop rows above dy's first row. Either side can
    // come out negative (large explicit pads, 'valid' leaving input rows unread): pad the positive
    // amounts, then crop.
    const top = fh - 1 - padInfo.top;
    const left = fw - 1 - padInfo.left;
    const needH = info.inHeight + fh - 1;
    const needW = info.inWidth + fw - 1;
    const bottom = needH - top - curH;
    const right = needW - left - curW;
    if (top > 0 || left > 0 || bottom > 0 || right > 0) {
      d = tf.pad(d, [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [Math.max(0, left), Math.max(0, right)], [0, 0]]);
    }
    if (top < 0 || left < 0 || bottom < 0 || right < 0) {
      d = tf.slice(d, [0, Math.max(0, -top), Math.max(0, -left), 0], [-1, needH, needW, -1]);
    }
    const w = tf.transpose(tf.reverse(asTensor4D(filter), [0, 1]), [0, 1, 3, 2]); // [fh, fw, O, C]
    // Returned un-kept: tidy hands it to the calling op's scope, which owns it.
    return tf.conv2d(d, w, 1, 'valid');
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
    return conv2dBackpropInputImpl(args.inputs.dy, args.inputs.filter, attrs);
  };
}
