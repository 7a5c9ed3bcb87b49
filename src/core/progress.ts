/**
 * Progress for long work: a live bar on a terminal, a plain line every few seconds otherwise
 * (CI logs, pipes), always on stderr so stdout stays clean for results and --json.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export function createProgress(label: string, total: number, fieldsFormat = ''): Progress {
  if (process.stderr.isTTY && !process.env.CI) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} {percentage}% | ETA {eta_formatted}${fieldsFormat ? ' | ' + fieldsFormat : ''}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return { update: (done, fields) => bar.update(done, fields ?? {}), stop: () => bar.stop() };
  }
  const start = Date.now();
  let last = 0;
  return {
    update(done, fields) {
      const now = Date.now();
      if (now - last < 5000 && done < total) return;
      last = now;
      const elapsed = (now - start) / 1000;
      const eta = done > 0 ? Math.round((elapsed * (total - done)) / done) : NaN;
      const extra = fields
        ? ' ' +
          Object.entries(fields)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')
        : '';
      process.stderr.write(
        `${label} ${done}/${total} (${Math.round((100 * done) / Math.max(1, total))}%) eta ${Number.isNaN(eta) ? '?' : eta + 's'}${extra}\n`,
      );
    },
    stop() {},
  };
}
