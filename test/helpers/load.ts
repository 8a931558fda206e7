// A steady TLS load from real clients (Python's ssl module): `threads` loops, each
// connecting, handshaking (resuming its last session), sending one HTTP/1.0 request and
// reading the answer to the end, again and again until stopped. Every failure (refused,
// reset, handshake error, short answer) is counted with its cause.
import { spawn } from 'node:child_process';

const LOAD = String.raw`
import json, socket, ssl, sys, threading
port, threads, version = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
v = ssl.TLSVersion.TLSv1_2 if version == '1.2' else ssl.TLSVersion.TLSv1_3
ctx.minimum_version = v
ctx.maximum_version = v
stop = threading.Event()
lock = threading.Lock()
counts = {'ok': 0, 'resumed': 0}
failures = []
def loop():
    session = None
    while not stop.is_set():
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=60) as raw:
                with ctx.wrap_socket(raw, server_hostname='localhost', session=session) as s:
                    s.sendall(b'GET / HTTP/1.0\r\n\r\n')
                    data = b''
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    if not data.startswith(b'HTTP/1.1 200'):
                        raise Exception('bad answer: %r' % data[:40])
                    with lock:
                        counts['ok'] += 1
                        counts['resumed'] += 1 if s.session_reused else 0
                        if counts['ok'] % 25 == 0:
                            print('ok %d' % counts['ok'], flush=True)
                    session = s.session
        except Exception as e:
            with lock:
                failures.append(repr(e))
workers = [threading.Thread(target=loop) for _ in range(threads)]
for w in workers:
    w.start()
sys.stdin.read()
stop.set()
for w in workers:
    w.join()
print(json.dumps({'ok': counts['ok'], 'resumed': counts['resumed'], 'failed': len(failures), 'failures': failures[:20]}), flush=True)
`;

export interface LoadResult { ok: number; resumed: number; failed: number; failures: string[] }

export interface Load {
  /** Resolves once at least `n` requests have succeeded. */
  reached (n: number): Promise<void>;
  /** Stops the clients (each finishes its request in flight) and returns the totals. */
  stop (): Promise<LoadResult>;
}

export function startLoad (port: number, threads = 4, version: '1.2' | '1.3' = '1.3'): Load {
  const child = spawn('python3', ['-c', LOAD, String(port), String(threads), version], { stdio: ['pipe', 'pipe', 'pipe'] });
  let ok = 0;
  let out = '';
  let stderr = '';
  const waiters = new Set<{ n: number; resolve: () => void }>();
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    for (const m of out.matchAll(/^ok (\d+)$/gm)) ok = Math.max(ok, Number(m[1]));
    for (const w of waiters) if (ok >= w.n) { waiters.delete(w); w.resolve(); }
  });
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const exit = new Promise<number | null>((resolve) => child.once('close', resolve));
  return {
    reached: (n) => ok >= n ? Promise.resolve() : new Promise((resolve, reject) => {
      waiters.add({ n, resolve });
      void exit.then(() => reject(new Error(`load clients exited before ${n} requests: ${stderr}`)));
    }),
    async stop () {
      child.stdin.end();
      const code = await exit;
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) throw new Error(`load clients failed (${String(code)}): ${stderr}`);
      return JSON.parse(last) as LoadResult;
    },
  };
}
