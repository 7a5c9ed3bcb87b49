#!/usr/bin/env node
// Runs before `npm test`. The report's and the studio page's browser tests use Debian's
// chromium, a system package (npm's browser downloads fail offline). As root we install it;
// otherwise we say how, and the browser tests fail naming the same command.
import { execSync } from 'node:child_process';

const has = (cmd) => {
  try {
    execSync(`command -v ${cmd}`, { stdio: 'ignore', shell: '/bin/sh' });
    return true;
  } catch {
    return false;
  }
};

if (!has('chromium')) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && has('apt-get')) {
    process.stderr.write('test prerequisites: installing chromium (apt-get install -y chromium)\n');
    try {
      execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', {
        stdio: 'inherit',
        shell: '/bin/sh',
      });
    } catch {
      process.stderr.write('test prerequisites: could not install chromium; the browser tests will fail\n');
    }
  } else {
    process.stderr.write(
      'test prerequisites: chromium not found; install it (sudo apt-get install -y chromium) or the browser tests fail\n',
    );
  }
}
