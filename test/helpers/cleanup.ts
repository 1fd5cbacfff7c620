import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';

/**
 * What must not outlive the test process, even when a test fails, the runner times the file out
 * (SIGTERM) or someone presses Ctrl-C: child processes (servers), killed first, then temporary
 * directories, removed once nothing writes into them any more.
 */
const live = new Set<ChildProcess>();
const dirs: string[] = [];
let hooked = false;

function cleanUp(): void {
  for (const child of live) {
    try {
      if (child.pid && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const dir of dirs.splice(0)) {
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // a child killed just now may still hold it: best effort
    }
  }
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', cleanUp);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      cleanUp();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

export function killOnExit(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  hook();
}

/** Removes `dir` (recursively) when the test process exits, after its children are killed. */
export function removeOnExit(dir: string): void {
  dirs.push(dir);
  hook();
}
