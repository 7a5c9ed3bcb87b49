/**
 * carpedm20's DCGAN generalised as the seed's fork does it (layer counts, kernel size, batch
 * norm and activations as flags). Shapes below are for the defaults: 64x64, z=100, gf=df=64,
 * 5 layers each; a 64x96 poster has the same channels with heights x1.5.
 */
import { tf } from '../engine/index.js';
import { createRng } from '../src/core/random.js';
import {
  type ModelConfig,
  conditionDim,
  discriminatorChannels,
  generatorChannels,
  layerSizes,
  smallestMap,
} from './config.js';
import {
  type BnMode,
  type BnStats,
  type Params,
  activate,
  addBatchNorm,
  addVar,
  batchNormActivate,
  convActivate,
  get,
  initNormal,
} from './layers.js';

const STD = 0.02;

export interface Networks {
  config: ModelConfig;
  g: Params;
  d: Params;
}

/**
 * Values in the networks createNetworks builds (all, and the trainable ones), counted without
 * allocating: a checkpoint's size is checked against it before any network is built.
 * test/dcgan-model.test.ts keeps it equal to createNetworks.
 */
export function networkSize(config: ModelConfig): { total: number; trainable: number; generator: number } {
  let total = 0;
  let frozen = 0;
  const bn = (ch: number) => {
    total += 4 * ch;
    frozen += 2 * ch;
  };
  const cDim = conditionDim(config);
  const gch = generatorChannels(config);
  const g0 = smallestMap(config, config.layersG);
  const lin = gch[0]! * g0.h * g0.w;
  total += (config.zDim + cDim) * lin + lin;
  if (config.batchNormG) bn(gch[0]!);
  for (let i = 1; i < gch.length; i++) {
    total += config.kH * config.kW * gch[i]! * gch[i - 1]! + gch[i]!;
    if (config.batchNormG && i < gch.length - 1) bn(gch[i]!);
  }
  const generator = total;
  let cin: number = config.channels;
  discriminatorChannels(config).forEach((cout, i) => {
    total += config.kH * config.kW * cin * cout + cout;
    if (config.batchNormD && i > 0) bn(cout);
    cin = cout;
  });
  const dMap = smallestMap(config, config.layersD);
  const feat = cin * dMap.h * dMap.w;
  total += feat + 1 + cDim * feat;
  return { total, trainable: total - frozen, generator };
}

export function createNetworks(config: ModelConfig, seed: number): Networks {
  const g: Params = new Map();
  const d: Params = new Map();
  const rngG = createRng(seed, 'init:G');
  const rngD = createRng(seed, 'init:D');
  const cDim = conditionDim(config);

  const gch = generatorChannels(config);
  const { h: h0, w: w0 } = smallestMap(config, config.layersG);
  const lin = gch[0]! * h0 * w0;
  addVar(g, 'g_h0_lin/w', [config.zDim + cDim, lin], initNormal(rngG, (config.zDim + cDim) * lin, STD, false));
  addVar(g, 'g_h0_lin/b', [lin], new Float32Array(lin));
  if (config.batchNormG) addBatchNorm(g, 'g_bn0', gch[0]!);
  for (let i = 1; i < gch.length; i++) {
    const [cin, cout] = [gch[i - 1]!, gch[i]!];
    // conv2dTranspose filters are [kh, kw, out, in].
    addVar(
      g,
      `g_h${i}/w`,
      [config.kH, config.kW, cout, cin],
      initNormal(rngG, config.kH * config.kW * cout * cin, STD, false),
    );
    addVar(g, `g_h${i}/b`, [cout], new Float32Array(cout));
    if (config.batchNormG && i < gch.length - 1) addBatchNorm(g, `g_bn${i}`, cout);
  }

  const dch = discriminatorChannels(config);
  let cin: number = config.channels;
  dch.forEach((cout, i) => {
    addVar(
      d,
      `d_h${i}_conv/w`,
      [config.kH, config.kW, cin, cout],
      initNormal(rngD, config.kH * config.kW * cin * cout, STD, true),
    );
    addVar(d, `d_h${i}_conv/b`, [cout], new Float32Array(cout));
    // carpedm20 leaves the first layer without batch norm: normalising raw pixels hurts.
    if (config.batchNormD && i > 0) addBatchNorm(d, `d_bn${i}`, cout);
    cin = cout;
  });
  const dMap = smallestMap(config, config.layersD);
  const feat = cin * dMap.h * dMap.w;
  addVar(d, 'd_lin/w', [feat, 1], initNormal(rngD, feat, STD, false));
  addVar(d, 'd_lin/b', [1], new Float32Array(1));
  // Projection discriminator (Miyato & Koyama 2018): logit += <embed(y), features>.
  if (cDim > 0) addVar(d, 'd_proj/w', [cDim, feat], initNormal(rngD, cDim * feat, STD, false));
  return { config, g, d };
}

/**
 * G(z[, y]) -> images in [-1, 1]. mode 'batch' normalises with this batch's statistics (and
 * reports them in `stats` for the running averages); 'moving' uses the running averages.
 */
export function generator(
  n: Networks,
  z: tf.Tensor2D,
  y: tf.Tensor2D | null,
  mode: BnMode,
  stats?: BnStats[],
): tf.Tensor4D {
  const c = n.config;
  const g = n.g;
  const gch = generatorChannels(c);
  const hs = layerSizes(c.height, c.layersG).reverse();
  const ws = layerSizes(c.width, c.layersG).reverse();
  const B = z.shape[0];
  const h0 = y ? tf.concat([z, y], 1) : z; //                     [B, 100 (+cond)]
  let x: tf.Tensor = tf.add(tf.matMul(h0, get(g, 'g_h0_lin/w')), get(g, 'g_h0_lin/b')); // [B, 512*4*4]
  x = tf.reshape(x, [B, hs[0]!, ws[0]!, gch[0]!]); // [B, 4, 4, 512]
  x = c.batchNormG ? batchNormActivate(g, 'g_bn0', x, mode, c.activationG, stats) : activate(x, c.activationG);
  for (let i = 1; i < gch.length; i++) {
    const shape: [number, number, number, number] = [B, hs[i]!, ws[i]!, gch[i]!];
    // i=1 [B,8,8,256]  i=2 [B,16,16,128]  i=3 [B,32,32,64]  i=4 [B,64,64,3]
    const conv = tf.conv2dTranspose(x as tf.Tensor4D, get(g, `g_h${i}/w`) as tf.Tensor4D, shape, 2, 'same');
    const bias = get(g, `g_h${i}/b`);
    if (i === gch.length - 1) return tf.tanh(tf.add(conv, bias)) as tf.Tensor4D;
    x = c.batchNormG
      ? batchNormActivate(g, `g_bn${i}`, conv, mode, c.activationG, stats, bias)
      : activate(tf.add(conv, bias), c.activationG);
  }
  throw new Error('generator needs at least 2 layers');
}

/** D(x[, y]) -> one logit per image, [B, 1]. Always batch statistics (D never runs in inference). */
export function discriminator(n: Networks, x: tf.Tensor4D, y: tf.Tensor2D | null): tf.Tensor2D {
  const c = n.config;
  const d = n.d;
  let h: tf.Tensor = x; //                                       [B, 64, 64, 3]
  discriminatorChannels(c).forEach((_, i) => {
    // i=0 [B,32,32,64]  i=1 [B,16,16,128]  i=2 [B,8,8,256]  i=3 [B,4,4,512]
    const w = get(d, `d_h${i}_conv/w`) as tf.Tensor4D;
    const bias = get(d, `d_h${i}_conv/b`);
    h =
      c.batchNormD && i > 0
        ? batchNormActivate(
            d,
            `d_bn${i}`,
            tf.conv2d(h as tf.Tensor4D, w, 2, 'same'),
            'batch',
            c.activationD,
            undefined,
            bias,
          )
        : convActivate(h as tf.Tensor4D, w, bias, c.activationD);
  });
  const flat = tf.reshape(h, [x.shape[0], -1]) as tf.Tensor2D; //   [B, 8192]
  let logit = tf.add(tf.matMul(flat, get(d, 'd_lin/w')), get(d, 'd_lin/b')) as tf.Tensor2D; // [B, 1]
  if (y) {
    const proj = tf.sum(tf.mul(tf.matMul(y, get(d, 'd_proj/w')), flat), 1, true); // [B, 1]
    logit = tf.add(logit, proj);
  }
  return logit;
}

export function disposeNetworks(n: Networks): void {
  for (const v of [...n.g.values(), ...n.d.values()]) v.dispose();
}
