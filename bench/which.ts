// Where a command is on PATH, found without running it (`testssl --version` alone takes
// 12-19 s on a busy machine: slow is not missing). Shared by the bench and the tests'
// peer checks (test/helpers/missing-peers.ts).
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The executable file `command` names on PATH, or undefined. */
export function which (command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {}
  }
  return undefined;
}
