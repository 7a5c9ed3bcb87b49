/**
 * `poster-studio classifier train|evaluate|compare`: the genre classifier from the command line;
 * this file wires the subcommands, one file each.
 */
import type { Command } from 'commander';
import { subcommand } from '../program.js';
import { configureCompare } from './classifier-compare.js';
import { configureEvaluate } from './classifier-evaluate.js';
import { configureTrain } from './classifier-train.js';

export function configureClassifier(cmd: Command): Command {
  configureTrain(
    subcommand(cmd, 'train', 'train a genre classifier on the seed split (checkpoint each epoch; --resume continues)'),
  );
  configureEvaluate(
    subcommand(
      cmd,
      'evaluate',
      'per-genre precision/recall/F1/AUC, micro/macro AUC, mAP, hamming loss, top-1, with baselines',
    ),
  );
  configureCompare(
    subcommand(cmd, 'compare', 'train the model versions on the same split and budget and compare them'),
  );
  return cmd;
}
