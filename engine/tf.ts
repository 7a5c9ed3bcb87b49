/**
 * The one place that imports TensorFlow.js, so every module shares one engine instance and
 * the backend chosen in backend.ts applies everywhere.
 */
import * as tf from '@tensorflow/tfjs';

export { tf };
export type Tensor = tf.Tensor;
export type LayersModel = tf.LayersModel;
