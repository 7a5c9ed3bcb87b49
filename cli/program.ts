import { Command, CommanderError } from 'commander';
import { runMain } from '../src/core/errors.js';
import { SPELLING_NOTE, longOptionNames, normalizeArgv } from '../src/core/flags.js';

/** A commander program with the studio's conventions: bad usage exits 2, help exits 0. */
export function createProgram(name: string, description: string): Command {
  const program = new Command(name);
  // Positional: a command's options come before its subcommand's, so `dcgan --train` (the fork's
  // command line) and `poster-studio dcgan train --input x` each reach the right command.
  program.description(description).showHelpAfterError(false).exitOverride().enablePositionalOptions();
  program.configureHelp({ sortOptions: false, showGlobalOptions: true });
  program.addHelpText('afterAll', `\n${SPELLING_NOTE}`);
  return program;
}

/** Every subcommand inherits exitOverride so its parse errors come back here too. */
export function subcommand(parent: Command, name: string, description: string): Command {
  const cmd = parent.command(name).description(description).exitOverride();
  return cmd;
}

export async function runProgram(program: Command, argv: readonly string[] = process.argv): Promise<void> {
  await runMain(async () => {
    try {
      await program.parseAsync(normalizeArgv(argv, longOptionNames(program)));
    } catch (err) {
      if (err instanceof CommanderError) {
        // commander has already printed its one-line message (or the help text).
        const ok =
          err.code === 'commander.helpDisplayed' ||
          err.code === 'commander.help' ||
          err.code === 'commander.version' ||
          err.exitCode === 0;
        process.exitCode = ok ? 0 : 2;
        return;
      }
      throw err;
    }
  });
}
