/**
 * `dcgan train | render | generate | eval | export` (also `poster-studio dcgan ...`), and `dcgan
 * [flags]` itself as the seed fork's main.py: the subcommands' wiring.
 */
import type { Command } from 'commander';
import { subcommand } from '../program.js';
import { configureEval } from './dcgan-eval.js';
import { configureExport } from './dcgan-export.js';
import { configureGenerate } from './dcgan-generate.js';
import { configureRender } from './dcgan-render.js';
import { configureFork, configureTrain } from './dcgan-train.js';

export function configureDcgan(cmd: Command): Command {
  // Options before a subcommand are dcgan's own (the fork's command line); after it, the subcommand's.
  // (Every level from the program down must be positional for that: createProgram sets it.)
  cmd.enablePositionalOptions();
  const sub = (name: string, description: string): Command =>
    subcommand(cmd, name, description).configureHelp({ sortOptions: false, showGlobalOptions: false });
  configureTrain(
    sub(
      'train',
      'train the DCGAN on prepare-dcgan output or any folder of images, writing sample grids, losses and checkpoints',
    ),
  );
  configureRender(sub('render', 'render the sample grids of a training run into an H.264 MP4'));
  configureGenerate(sub('generate', 'generate posters (and a grid) from a checkpoint'));
  configureEval(
    sub(
      'eval',
      'KID, FID and precision/recall of a checkpoint (or every checkpoint of a run) against real posters, with one named feature network',
    ),
  );
  configureExport(
    sub(
      'export',
      "write a checkpoint's generator alone (G's EMA when kept, else G; float16 by default) for shipping or generating elsewhere",
    ),
  );
  configureFork(cmd);
  return cmd;
}
