/**
 * Every command of the studio, wired to its module. The five bins and `poster-studio <command>`
 * share these definitions, so a flag means the same everywhere.
 */
import type { Command } from 'commander';
import { subcommand } from '../program.js';
import { configureDataset } from './dataset.js';
import { configureDcgan } from './dcgan.js';
import { configureDemo } from './demo.js';
import { configureSynth } from './synth.js';
import { configureGetData } from './get-data.js';
import { configurePrepareDcgan } from './prepare-dcgan.js';
import { configureReport } from './report.js';
import { configureFid } from './fid.js';
import { configureClassifier } from './classifier.js';
import { configureClassify } from './classify.js';
import { configureServe } from './serve.js';

export interface CommandEntry {
  name: string;
  description: string;
  configure(cmd: Command): Command;
}

export const COMMANDS: CommandEntry[] = [
  {
    name: 'demo',
    description: 'run the whole studio on the embedded synthetic poster set (no download)',
    configure: configureDemo,
  },
  {
    name: 'prepare-dcgan',
    description: 'convert the selected posters to the DCGAN training set (sRGB, resized) with a manifest',
    configure: configurePrepareDcgan,
  },
  {
    name: 'get-data',
    description: 'report what MovieGenre.csv holds and download the missing posters (--download)',
    configure: configureGetData,
  },
  {
    name: 'dcgan',
    description: 'train the DCGAN (sample grids, checkpoints, resume), render the training video, generate posters',
    configure: configureDcgan,
  },
  {
    name: 'synth',
    description: 'generate the synthetic poster set (MovieGenre.csv + posters) from a seed',
    configure: configureSynth,
  },
  {
    name: 'dataset',
    description: 'summarise a MovieGenre.csv and poster directory per split and genre',
    configure: configureDataset,
  },
  {
    name: 'fid',
    description:
      'poster-FID per sample grid: classifier features of real vs generated posters, with real-vs-real and real-vs-noise scale',
    configure: configureFid,
  },
  {
    name: 'classifier',
    description:
      'genre classifier: train (checkpoints, --resume), evaluate (multi-label metrics vs baselines), compare versions',
    configure: configureClassifier,
  },
  {
    name: 'classify',
    description:
      "genre scores of posters or DCGAN sample grids, the seed's way: Title  ['Action: 91%', 'Drama[!]: 25%']",
    configure: configureClassify,
  },
  {
    name: 'serve',
    description: 'the studio as a local web page: generate, classify and browse a training run (127.0.0.1 by default)',
    configure: configureServe,
  },
  {
    name: 'report',
    description:
      'write one self-contained HTML page: grids, video, losses, poster-FID, genre scores, metrics, saliency',
    configure: configureReport,
  },
];

export function registerAll(program: Command): void {
  for (const c of COMMANDS) c.configure(subcommand(program, c.name, c.description));
}

export function findCommand(name: string): CommandEntry {
  const c = COMMANDS.find((x) => x.name === name);
  if (!c) throw new Error(`no command ${name}`);
  return c;
}
