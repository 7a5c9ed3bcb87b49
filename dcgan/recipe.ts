/**
 * How a run trains, beside its architecture: the seed's plain DCGAN, or the small-data recipe.
 * A recipe is a plain value stored in every non-seed checkpoint (a seed checkpoint keeps the
 * seed's exact format, so checkpoints written before recipes existed load as 'seed').
 *
 * Sources of the small-data defaults (for fewer than ~10,000 images):
 * - DiffAugment colour + translation + cutout on real and fake images before D, in D and G
 *   steps: Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"
 *   (their recommended policy for small data, translation 1/8, cutout 1/2).
 * - Mirroring real posters: a free doubling of the data used since DCGAN-era training code;
 *   posters are near left-right symmetric in layout, titles aside (DiffAugment does not flip).
 * - Hinge loss: Lim & Ye 2017, Miyato et al. 2018 (SN-GAN), the loss DiffAugment's BigGAN and
 *   StyleGAN2 baselines used.
 * - EMA of G's weights with TensorFlow's warm-up min(decay, (1+t)/(10+t)): Yazici et al. 2019,
 *   "The Unusual Effectiveness of Averaging in GAN Training"; Karras et al. 2018 (0.999).
 */
import { UserError } from '../src/core/errors.js';

export const AUGMENTS = ['color', 'translation', 'cutout'] as const;
export type Augment = (typeof AUGMENTS)[number];
export const LOSSES = ['bce', 'hinge'] as const;
export type Loss = (typeof LOSSES)[number];
export const RECIPES = ['small-data', 'seed'] as const;
export type RecipeName = (typeof RECIPES)[number];

export interface Recipe {
  loss: Loss;
  /** DiffAugment policies, in the order they are applied; empty = off. */
  diffAugment: Augment[];
  /** Flip each real poster left-right with probability 1/2. */
  mirror: boolean;
  /** EMA decay of G's weights; 0 = no EMA. */
  emaDecay: number;
}

export const SEED_RECIPE: Recipe = { loss: 'bce', diffAugment: [], mirror: false, emaDecay: 0 };
export const SMALL_DATA_RECIPE: Recipe = {
  loss: 'hinge',
  diffAugment: ['color', 'translation', 'cutout'],
  mirror: true,
  emaDecay: 0.999,
};

/**
 * Kernel size of every (transposed) convolution when --k_w/--k_h are not given. The seed's 5x5 at
 * stride 2 overlaps neighbouring outputs unevenly, which paints a tiled checkerboard texture over
 * the whole poster (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts"); 4x4, divisible
 * by the stride, overlaps evenly (pytorch/examples' DCGAN uses it too) and costs 16/25 of the
 * multiply-adds, so more iterations fit in the same CPU time.
 */
export const RECIPE_KERNEL: Record<RecipeName, number> = { 'small-data': 4, seed: 5 };

export const recipeByName = (name: RecipeName): Recipe => ({
  ...(name === 'seed' ? SEED_RECIPE : SMALL_DATA_RECIPE),
  diffAugment: [...(name === 'seed' ? SEED_RECIPE : SMALL_DATA_RECIPE).diffAugment],
});

export const isSeedRecipe = (r: Recipe): boolean =>
  r.loss === 'bce' && r.diffAugment.length === 0 && !r.mirror && r.emaDecay === 0;

/** --diff_augment none | a,b: 'none' alone turns it off. */
export function parseAugments(items: readonly string[]): Augment[] {
  if (items.length === 1 && items[0] === 'none') return [];
  const bad = items.filter((i) => !(AUGMENTS as readonly string[]).includes(i));
  if (bad.length)
    throw new UserError(`--diff_augment: unknown ${bad.join(', ')}; valid: none or a list of ${AUGMENTS.join(', ')}`);
  return [...new Set(items)] as Augment[];
}

/** The EMA decay at update t (1-based), warmed up so early random weights fade fast. */
export const emaDecayAt = (decay: number, t: number): number => Math.min(decay, (1 + t) / (10 + t));
