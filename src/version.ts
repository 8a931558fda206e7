import { readFileSync } from 'node:fs';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** warmshake's, Node's and OpenSSL's versions: a Node built against one OpenSSL and run on another fails in silent ways. */
export function versions (): { warmshake: string; node: string; openssl: string } {
  return { warmshake: VERSION, node: process.versions.node, openssl: process.versions.openssl };
}
