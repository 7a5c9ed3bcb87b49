/**
 * `poster-studio serve`: the studio as a local web page (src/features/serve). This file only
 * picks the models (the user's flags, else the shipped defaults), wires them in, prints where
 * the page is, and stops cleanly on SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import { UserError } from '../../src/core/errors.js';
import { DEFAULT_SAMPLES } from '../../src/core/paths.js';
import { chooseModel } from '../../src/artifacts/default-models.js';
import { loadClassifier } from '../../src/artifacts/classifier-model.js';
import { isLoopback, startServer } from '../../src/features/serve/server.js';
import { initBackend } from '../../engine/index.js';
import { backendFlags } from '../backend-flag.js';
import { openGenerator } from '../../dcgan/generate.js';
import { extraHeads, headsPredictor } from '../../classifier/predict.js';

export const serveFlags = defineFlags({
  host: {
    kind: 'string',
    default: '127.0.0.1',
    arg: 'address',
    help: 'address to listen on; anything but loopback makes the studio reachable from the network (a warning says so)',
  },
  port: { kind: 'int', default: 8765, min: 0, max: 65535, help: 'port to listen on (0 picks a free one)' },
  model: {
    kind: 'path',
    exists: 'dir',
    help: 'classifier directory (default: the shipped one in models/default/classifier)',
  },
  checkpoint: {
    kind: 'path',
    exists: 'dir',
    help: 'dcgan checkpoint, checkpoints directory or train --output (default: the shipped one in models/default/generator)',
  },
  samples: {
    kind: 'path',
    exists: 'dir',
    help: `a dcgan train output folder for the Runs tab (default: ./${DEFAULT_SAMPLES} when it exists)`,
  },
  max_upload_mb: {
    kind: 'float',
    default: 10,
    min: 0.01,
    max: 200,
    arg: 'MB',
    help: 'largest poster upload accepted (larger: 413)',
  },
  queue: {
    kind: 'int',
    default: 8,
    min: 0,
    max: 1000,
    help: 'model requests that may wait while one runs; more get 503',
  },
  ...backendFlags,
});

export function configureServe(cmd: Command): Command {
  addFlags(cmd, serveFlags).action(async () => {
    const o = readFlags(cmd, serveFlags);
    const clf = chooseModel('classifier', o.model, '--model');
    const gen = chooseModel('generator', o.checkpoint, '--checkpoint');
    if (!clf.dir && !gen.dir) {
      throw new UserError(
        `nothing to serve: ${'missing' in clf ? clf.missing : ''}, and ${'missing' in gen ? gen.missing : ''}; pass --model <classifier train output> and/or --checkpoint <dcgan train output>`,
      );
    }
    const samples =
      o.samples ?? (existsSync(DEFAULT_SAMPLES) && statSync(DEFAULT_SAMPLES).isDirectory() ? DEFAULT_SAMPLES : null);
    await initBackend(o.backend);
    const classifier = clf.dir ? await loadClassifier(clf.dir) : null;
    const generator = gen.dir ? await openGenerator(gen.dir, 'moving') : null;
    process.stderr.write(
      'source' in clf ? `classifier: ${clf.dir} (${clf.source})\n` : `${clf.missing}: the Classify tab is off\n`,
    );
    process.stderr.write(
      generator && 'source' in gen
        ? `generator: ${generator.checkpoint}, iteration ${generator.iteration} (${gen.source})\n`
        : `${'missing' in gen ? gen.missing : ''}: the Generate tab is off\n`,
    );
    process.stderr.write(
      samples ? `runs: ${samples}\n` : `runs: no --samples and no ./${DEFAULT_SAMPLES}: the Runs tab is off\n`,
    );
    if (!isLoopback(o.host)) {
      process.stderr.write(
        `warning: --host ${o.host}: the studio is reachable from other machines; it has no login, so anyone who can reach this address can use it\n`,
      );
    }
    const server = await startServer({
      host: o.host,
      port: o.port,
      models: {
        classifier,
        generator,
        heads: classifier ? headsPredictor(extraHeads(classifier)) : null,
        samplesDir: samples,
      },
      maxUploadBytes: Math.round(o.max_upload_mb * 1e6),
      maxWaiting: o.queue,
    }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE')
        throw new UserError(`--port: ${o.port} is already in use; pick another or pass --port 0 for a free one`);
      if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND')
        throw new UserError(`--host: ${o.host} is not an address of this machine`);
      throw err;
    });
    // Handlers first: whoever reads the listening line may signal at once (a loaded machine can
    // pause this process right after the write), and an unhandled SIGTERM would kill it uncleanly.
    const stop = new Promise<string>((resolve) => {
      for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => resolve(s));
    });
    process.stdout.write(`listening on ${server.url}\n`);
    const signal = await stop;
    process.stderr.write(`${signal}: stopping\n`);
    await server.close();
    generator?.dispose();
    classifier?.model.dispose();
    process.stderr.write('stopped\n');
  });
  return cmd;
}
