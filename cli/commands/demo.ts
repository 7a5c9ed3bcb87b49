/**
 * `poster-studio demo`: the whole studio on the embedded synthetic poster set, as a user would
 * type it, one real command after another (each is printed before it runs). A step whose command
 * is not part of this build is reported and skipped, so the demo covers what exists.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { UserError } from '../../src/core/errors.js';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import { COMMANDS } from './index.js';

export const demoFlags = defineFlags({
  workdir: {
    kind: 'path',
    default: '.',
    exists: 'dir',
    help: 'where data/, models/, samples/ and reports/ of the demo go',
  },
  seed: { kind: 'int', default: 1, min: 0, help: 'seed of every random thing in the demo' },
  backend: {
    kind: 'string',
    default: 'auto',
    arg: 'name',
    help: 'compute engine passed to every step (auto, native, wasm, cpu, tensorflow)',
  },
  quick: { kind: 'bool', default: false, help: 'a smaller run (for tests): fewer posters, epochs and iterations' },
});

type DemoOptions = ReturnType<typeof readFlags<typeof demoFlags>>;

interface Step {
  /** First word of the command line, as registered in COMMANDS. */
  command: string;
  args: string[];
  what: string;
  /** Files the step must leave behind; checked after it runs. */
  produces?: string[];
}

export function demoSteps(o: DemoOptions): Step[] {
  const q = o.quick;
  const seed = String(o.seed);
  const be = ['--backend', o.backend];
  const data = 'data/synthetic';
  // Sizes chosen so the whole demo takes about 4 minutes on 2 cores with the native engine: the
  // classifier at the seed's smallest ratio, the DCGAN at 32x48 (2:3, four layers) for enough
  // iterations that the grids go from noise to poster-shaped layouts.
  return [
    {
      command: 'synth',
      what: 'generate the synthetic poster set',
      args: ['--output', data, '--count', q ? '180' : '600', '--seed', seed],
      produces: [`${data}/MovieGenre.csv`],
    },
    {
      command: 'classifier',
      what: 'train the genre classifier',
      args: [
        'train',
        '--csv',
        `${data}/MovieGenre.csv`,
        '--data',
        `${data}/posters`,
        '--models',
        'models',
        '--name',
        'demo',
        '--genres',
        '7',
        '--ratio',
        '30',
        '--version',
        '4',
        '--epochs',
        q ? '1' : '12',
        '--seed',
        seed,
        ...be,
      ],
      produces: ['models/demo/model.json'],
    },
    {
      command: 'prepare-dcgan',
      what: 'prepare the DCGAN training set',
      args: [
        '--csv',
        `${data}/MovieGenre.csv`,
        '--input',
        `${data}/posters`,
        '--output',
        `${data}/dcgan`,
        '--ratio',
        '30',
      ],
      produces: [`${data}/dcgan/manifest.json`],
    },
    {
      command: 'dcgan',
      what: 'train the DCGAN, writing 6x10 sample grids and the training video',
      args: [
        'train',
        '--input',
        `${data}/dcgan`,
        '--output',
        'samples',
        '--fresh',
        '--grid_height',
        '6',
        '--grid_width',
        '10',
        '--output_width',
        '32',
        '--output_height',
        '48',
        '--nbr_of_layers_g',
        '4',
        '--nbr_of_layers_d',
        '4',
        '--iterations',
        q ? '4' : '240',
        '--sample_rate',
        q ? '2' : '10',
        '--seed',
        seed,
        ...be,
      ],
      produces: ['samples/train.mp4'],
    },
    {
      command: 'classify',
      what: 'score the generated posters by genre',
      args: ['samples/', '--model', 'models/demo', '--json', 'samples/scores.json', ...be],
    },
    {
      command: 'fid',
      what: 'measure poster-FID of every sample grid against the real posters',
      args: [
        '--real',
        `${data}/dcgan`,
        '--samples',
        'samples',
        '--model',
        'models/demo',
        '--real-count',
        q ? '60' : '200',
        ...be,
      ],
    },
    {
      command: 'report',
      what: 'write the HTML report',
      args: [
        '--samples',
        'samples',
        '--model',
        'models/demo',
        '--real',
        `${data}/dcgan`,
        '--csv',
        `${data}/MovieGenre.csv`,
        '--output',
        'reports/report.html',
        ...be,
      ],
      produces: ['reports/report.html'],
    },
  ];
}

const cliEntry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../poster-studio.js');

function runStep(step: Step, cwd: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliEntry, step.command, ...step.args], { cwd, stdio: 'inherit' });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function runDemo(o: DemoOptions): Promise<void> {
  const available = new Set(COMMANDS.map((c) => c.name));
  const started = Date.now();
  const skipped: string[] = [];
  for (const step of demoSteps(o)) {
    if (!available.has(step.command)) {
      process.stderr.write(`demo: skipping '${step.what}' (${step.command} is not part of this build yet)\n`);
      skipped.push(step.command);
      continue;
    }
    process.stderr.write(`\n$ poster-studio ${step.command} ${step.args.join(' ')}\n`);
    const code = await runStep(step, o.workdir);
    if (code !== 0)
      throw new UserError(
        `demo stopped: '${step.what}' failed (exit ${code}); the outputs of earlier steps are kept`,
        1,
      );
    for (const f of step.produces ?? []) {
      if (!existsSync(path.join(o.workdir, f)))
        throw new UserError(`demo stopped: '${step.what}' did not write ${f}`, 1);
    }
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  const where = (f: string) => (existsSync(path.join(o.workdir, f)) ? path.join(o.workdir, f) : null);
  process.stdout.write(
    `\ndemo finished in ${seconds} s${skipped.length ? ` (skipped: ${[...new Set(skipped)].join(', ')})` : ''}\n`,
  );
  const outputs: [string, string | null][] = [
    ['synthetic posters', where('data/synthetic/posters')],
    ['classifier models', where('models')],
    ['sample grids', where('samples')],
    ['training video', where('samples/train.mp4')],
    ['report', where('reports/report.html')],
  ];
  for (const [label, p] of outputs) if (p) process.stdout.write(`  ${label.padEnd(18)} ${p}\n`);
  // The last word is the interactive studio, on what the demo just made.
  const cd = path.resolve(o.workdir) === process.cwd() ? '' : `cd ${o.workdir} && `;
  process.stdout.write(
    `\nnow open the studio on these models and this run (generate, classify your own poster, browse the grids):\n  ${cd}npx poster-studio serve --model models/demo --checkpoint samples --samples samples\n`,
  );
}

export function configureDemo(cmd: Command): Command {
  addFlags(cmd, demoFlags).action(async () => runDemo(readFlags(cmd, demoFlags)));
  return cmd;
}
