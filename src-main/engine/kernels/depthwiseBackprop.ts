// DepthwiseConv2dNativeBackpropInput/Filter for the wasm backend, which tfjs 4.22 does not ship
// (so no depthwise or separable conv layer can train on wasm without them). A depthwise conv with
// filter [fh, fw, C, M] is the full conv whose [fh, fw, C, C*M] filter is zero off the channel
// diagonal; its gradients are then the full conv's (the Conv2D kernels wasm has, or ours), with
// the filter gradient's diagonal blocks taken back out. That costs C times the arithmetic of a
// dedicated kernel, which is small for the channel counts of the workbench's models, and reuses
// kernels already tested against the cpu backend.
import * as tf from '@tensorflow/tfjs-core';
import type { DepthwiseConv2dNativeBackpropFilterAttrs, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { asTensor4D, conv2dBackpropFilterImpl } from './conv2dBackpropFilter.js';

type Shape4 = [number, number, number, number];

function checkAttrs(name: string, attrs: { dilations?: number | [number, number] }): void {
  const d = attrs.dilations ?? 1;
  if ((Array.isArray(d) ? d : [d, d]).some((v) => v !== 1)) {
    throw new Error(`${name} on wasm supports dilation 1 only (got ${String(d)}).`);
  }
}

/** The [fh, fw, C, C*M] block-diagonal filter of a depthwise filter [fh, fw, C, M]. */
function fullFilter(filter: tf.Tensor4D): tf.Tensor4D {
  const [fh, fw, c, m] = filter.shape;
  const eye = tf.reshape(tf.eye(c), [1, 1, c, c, 1]);
  return tf.reshape(tf.mul(tf.reshape(filter, [fh, fw, 1, c, m]), eye), [fh, fw, c, c * m]);
}

export const depthwiseBackpropInputWasm: KernelFunc = ({ inputs, attrs }) => {
  const { dy, filter } = inputs;
  if (!dy || !filter) throw new Error('DepthwiseConv2dNativeBackpropInput needs inputs dy and filter.');
  const a = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'same' | 'valid' | number;
    dilations: [number, number] | number;
    inputShape: Shape4;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  checkAttrs('DepthwiseConv2dNativeBackpropInput', a);
  return tf.tidy(() =>
    tf.conv2dTranspose(
      asTensor4D(dy),
      fullFilter(asTensor4D(filter)),
      a.inputShape,
      a.strides,
      a.pad,
      a.dimRoundingMode,
    ),
  );
};

export const depthwiseBackpropFilterWasm: KernelFunc = ({ inputs, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  if (!x || !dy) throw new Error('DepthwiseConv2dNativeBackpropFilter needs inputs x and dy.');
  const a = attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  checkAttrs('DepthwiseConv2dNativeBackpropFilter', a);
  const [fh, fw, c, m] = a.filterShape;
  return tf.tidy(() => {
    const full = conv2dBackpropFilterImpl(x, dy, {
      strides: a.strides,
      pad: a.pad,
      dataFormat: 'NHWC',
      dimRoundingMode: a.dimRoundingMode,
      filterShape: [fh, fw, c, c * m],
    });
    // dW[a, b, ch, k] = full[a, b, ch, ch*M + k]: the diagonal blocks.
    const eye = tf.reshape(tf.eye(c), [1, 1, c, c, 1]);
    return tf.sum(tf.mul(tf.reshape(full, [fh, fw, c, c, m]), eye), 3) as tf.Tensor4D;
  });
};
