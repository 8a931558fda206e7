// Starts and stops backend-main.ts (see there) pinned to the load generator's CPUs.
import { fileURLToPath } from 'node:url';
import { spawnPinned, stopProcess } from './process.ts';

const MAIN = fileURLToPath(new URL('./backend-main.ts', import.meta.url));

export interface Backend { port: number; pid: number; stop (): Promise<void> }

export async function startBackend (cpus: string): Promise<Backend> {
  const spawned = spawnPinned(cpus, process.execPath, ['--disable-warning=ExperimentalWarning', MAIN]);
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    spawned.child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(Number(text.trim()));
    });
    void spawned.exited.then((code) => reject(new Error(`backend exited (${String(code)}): ${spawned.output()}`)));
  });
  return { port, pid: spawned.pid, stop: () => stopProcess(spawned) };
}
