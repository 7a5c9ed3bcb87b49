/**
 * One error type for everything a user can fix (bad flag, missing file, unknown genre).
 * The CLI prints its message as one line and exits with its code; anything else is a bug,
 * printed as one line too, with the stack only when POSTER_STUDIO_DEBUG is set.
 */
/** Exit code for bad input (flags, files); 1 is kept for failures during work. */
const EXIT_USAGE = 2;

export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = EXIT_USAGE,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export function formatError(err: unknown): string {
  if (err instanceof UserError) return `error: ${err.message}`;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && e.code === 'ENOSPC') {
    return `error: no space left on device${e.path ? ` while writing ${e.path}` : ''}; free some space and re-run (finished files are kept)`;
  }
  if (e && typeof e === 'object' && (e.code === 'EACCES' || e.code === 'EROFS' || e.code === 'EPERM')) {
    return `error: cannot write ${e.path ?? 'output'} (${e.code}); choose a writable output directory`;
  }
  if (
    e &&
    typeof e === 'object' &&
    (e.code === 'ENOTDIR' || (e.code === 'EEXIST' && e.syscall === 'mkdir')) &&
    e.path
  ) {
    return `error: cannot create ${e.path}: part of that path is a file, not a directory; choose another output directory`;
  }
  const msg = e instanceof Error ? e.message : String(err);
  // V8's and Node's words for a buffer too big to allocate: one line that says what it means.
  if (
    e?.code === 'ERR_MEMORY_ALLOCATION_FAILED' ||
    (e instanceof RangeError &&
      /allocation failed|Invalid typed array length|Invalid array length|Cannot create a string/i.test(msg))
  ) {
    return `error: out of memory (${msg.split('\n')[0]}); an input is larger than this machine can hold: check the files and flags named above, or use smaller sizes`;
  }
  return `error: ${msg.split('\n')[0]}`;
}

export function exitCodeOf(err: unknown): number {
  return err instanceof UserError ? err.exitCode : 1;
}

/**
 * A reader that stops early (`poster-studio --help | head -3`) closes the pipe under stdout. That
 * ends the output, as SIGPIPE ends a C tool; without a listener Node throws an unhandled 'error'
 * event with its stack instead. Any other stdout error is a failure, in one line.
 */
function onStdoutError(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  process.stderr.write(formatError(err) + '\n');
  process.exit(1);
}

/** Runs a CLI entry point: one line on failure, never a stack trace unless asked for. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  if (!process.stdout.listeners('error').includes(onStdoutError)) process.stdout.on('error', onStdoutError);
  try {
    await main();
  } catch (err) {
    process.stderr.write(formatError(err) + '\n');
    if (process.env.POSTER_STUDIO_DEBUG && err instanceof Error && err.stack) {
      process.stderr.write(err.stack + '\n');
    }
    process.exitCode = exitCodeOf(err);
  }
}
