/**
 * Flags that shrink a real command to a few seconds, shared by the CLI suites so that a flag
 * renamed in a command's table is changed in one place.
 */
const words = (line: string): string[] => line.split(' ');

/** `dcgan train` on 8x12 posters with 3 layers (the dcgan CLI and eval suites). */
export const TINY_DCGAN_CLI = words(
  '--output_width 8 --output_height 12 --nbr_of_layers_g 3 --nbr_of_layers_d 3 --gf_dim 4 --df_dim 4 --z_dim 8 --k_w 3 --k_h 3 --grid_height 2 --grid_width 3 --backend cpu',
);

/** A 16x16 DCGAN of 3 layers on a 2x3 grid, writing a grid and a checkpoint every 2 iterations. */
export const TINY_DCGAN_NET = words(
  '--output_width 16 --output_height 16 --nbr_of_layers_g 3 --nbr_of_layers_d 3 --gf_dim 8 --df_dim 8 --z_dim 8 --k_w 3 --k_h 3 --grid_height 2 --grid_width 3 --sample_rate 2 --checkpoint_rate 2',
);

/** `dcgan train` of TINY_DCGAN_NET for 4 iterations, no video (the bad-input and hostile suites). */
export const TINY_DCGAN_RUN = [...TINY_DCGAN_NET, ...words('--iterations 4 --render_video false')];

/** `classifier train` for one epoch at ratio 30 on 3 genres (the reliability suites). */
export const TINY_CLASSIFIER_RUN = words('--ratio 30 --epochs 1 --genres 3 --extras false --batch 8 --name t');
