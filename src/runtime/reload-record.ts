// What the operator needs to know about reloads without reading the log: how many
// succeeded and failed, when the last one was and how it ended, and the hash of the
// configuration running now (compare it with `sha256sum warmshake.yaml | cut -c1-16`).

export interface LastReload {
  /** ms since the epoch. */
  at: number;
  ok: boolean;
  /** Why it failed. */
  error?: string;
}

export class ReloadRecord {
  ok = 0;
  failed = 0;
  last: LastReload | undefined;
  /** Hash of the running configuration. */
  hash: string;

  constructor (hash = '') {
    this.hash = hash;
  }

  succeeded (hash: string, at = Date.now()): void {
    this.ok++;
    this.hash = hash;
    this.last = { at, ok: true };
  }

  failedWith (error: string, at = Date.now()): void {
    this.failed++;
    // One line: `show info` is one `Name: value` per line.
    this.last = { at, ok: false, error: error.replace(/\s*\n\s*/g, ' ') };
  }
}
