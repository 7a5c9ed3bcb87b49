import { createProgram, runProgram } from './program.js';
import { findCommand } from './commands/index.js';

/** The standalone bins (`prepare-dcgan`, `dcgan`, ...) are one command of the studio each. */
export async function runSingle(name: string): Promise<void> {
  const entry = findCommand(name);
  const program = createProgram(name, entry.description);
  entry.configure(program);
  await runProgram(program);
}
