/**
 * tfjs's Conv2D layer whose ReLU variant trains as one op (kernels/conv-relu.ts): tfjs splits a
 * conv with a ReLU into conv, bias add and ReLU whenever gradients are recorded, three passes
 * over the activation forward and two backward where this takes one each. It registers under
 * tfjs's own class name 'Conv2D' (as FastDropout does), so saved models stay plain Keras JSON
 * that any tfjs loads, and models loaded here train the fast way too. Any other configuration,
 * or a backend without the kernels, runs tfjs's own layer.
 */
import { tf } from '../tf.js';
import { convRelu, convReluAvailable } from '../kernels/conv-relu.js';

type Kwargs = Parameters<tf.layers.Layer['call']>[1];
type ConvArgs = Parameters<typeof tf.layers.conv2d>[0];
interface ConvFields {
  rank: number;
  dataFormat: string;
  padding: string;
  strides: number[];
  dilationRate: number | number[];
  activation: { getClassName(): string };
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
}

const Conv2DBase = tf.layers.conv2d({ filters: 1, kernelSize: 1 }).constructor as unknown as new (
  args: ConvArgs,
) => tf.layers.Layer & ConvFields;

export class FastConv2D extends Conv2DBase {
  static className = 'Conv2D';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
    const dil = Array.isArray(this.dilationRate) ? this.dilationRate : [this.dilationRate];
    const [sh, sw] = this.strides;
    if (
      !x ||
      x.rank !== 4 ||
      x.dtype !== 'float32' ||
      this.rank !== 2 ||
      this.dataFormat !== 'channelsLast' ||
      this.activation.getClassName() !== 'relu' ||
      this.bias === null ||
      !dil.every((d) => d === 1) ||
      (this.padding !== 'same' && this.padding !== 'valid') ||
      sh === undefined ||
      sw === undefined ||
      !convReluAvailable()
    )
      return super.call(inputs, kwargs);
    const bias = this.bias;
    return tf.tidy(() => convRelu(x, this.kernel.read(), bias.read(), [sh, sw], this.padding as 'same' | 'valid'));
  }
}

/** tf.layers.conv2d, as a FastConv2D. */
export function conv2d(args: ConvArgs): FastConv2D {
  return new FastConv2D(args);
}

// fromConfig is inherited from tfjs's Conv2D at run time; the cast only restores its static type.
tf.serialization.registerClass(
  FastConv2D as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
);
