// A steady TLS load from real clients (Python's ssl module): `threads` loops, each
// connecting, handshaking (resuming its last session), sending one HTTP/1.0 request and
// reading the answer to the end, again and again until stopped. Every failure (refused,
// reset, handshake error, short answer) is counted with its cause. `cross` mode measures
// resumption across nodes: each loop makes a new session on one port, resumes it on the
// next, and records when and whether that second connection resumed.
import { spawn } from 'node:child_process';
import { PY_TLS_CONTEXT } from './peers.ts';

const LOAD = String.raw`
import json, socket, ssl, sys, threading, time
ports, threads, version, cross = [int(p) for p in sys.argv[1].split(',')], int(sys.argv[2]), sys.argv[3], sys.argv[4] == 'cross'
${PY_TLS_CONTEXT}
stop = threading.Event()
lock = threading.Lock()
counts = {'ok': 0, 'resumed': 0, 'refused': 0}
failures = []
timeline = []
def loop(n):
    session = None
    i = 2 * n - 1
    while not stop.is_set():
        i += 1
        # cross: pair i // 2 makes its session on one port and resumes it on the next.
        second = cross and i % 2 == 1
        port = ports[(i // 2 + (1 if second else 0)) % len(ports)] if cross else ports[i % len(ports)]
        if cross and not second:
            session = None
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
                        if second:
                            timeline.append((round(time.time(), 3), s.session_reused))
                            print('r %.3f %d' % (time.time(), 1 if s.session_reused else 0), flush=True)
                        if counts['ok'] % 25 == 0:
                            print('ok %d' % counts['ok'], flush=True)
                    session = s.session
        except Exception as e:
            with lock:
                failures.append(repr(e))
                counts['refused'] += 1 if isinstance(e, ConnectionRefusedError) else 0
workers = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
for w in workers:
    w.start()
sys.stdin.read()
stop.set()
for w in workers:
    w.join()
timeline.sort()
print(json.dumps({'ok': counts['ok'], 'resumed': counts['resumed'], 'failed': len(failures), 'refused': counts['refused'], 'failures': failures[:20], 'timeline': timeline}), flush=True)
`;

export interface LoadResult {
  ok: number;
  resumed: number;
  failed: number;
  /** Of `failed`, the connections the port refused (nothing listening). */
  refused: number;
  failures: string[];
  /** `cross` mode: [unix seconds, resumed] of every second connection (the one on the other port). */
  timeline: Array<[number, boolean]>;
}

export interface Load {
  /** Resolves once at least `n` requests have succeeded. */
  reached (n: number): Promise<void>;
  /**
   * `cross` mode: resolves with the time (unix seconds) of the first of `streak` second
   * connections in a row, all after `since`, that resumed.
   */
  resumingSince (since: number, streak: number): Promise<number>;
  /** Stops the clients (each finishes its request in flight) and returns the totals. */
  stop (): Promise<LoadResult>;
}

/** `port`: one port, or several taken in turn; `cross`: new session, then resumed on the next port. */
export function startLoad (port: number | number[], threads = 4, version: '1.2' | '1.3' = '1.3', mode: 'steady' | 'cross' = 'steady'): Load {
  const ports = Array.isArray(port) ? port.join(',') : String(port);
  const child = spawn('python3', ['-c', LOAD, ports, String(threads), version, mode], { stdio: ['pipe', 'pipe', 'pipe'] });
  let ok = 0;
  let out = '';
  let stderr = '';
  const waiters = new Set<{ n: number; resolve: () => void }>();
  const seen: Array<[number, boolean]> = [];
  const streaks = new Set<{ since: number; streak: number; run: number; first: number; resolve: (t: number) => void }>();
  let pending = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    const lines = (pending + c.toString()).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const m = /^(ok|r) ([\d.]+)(?: (\d))?$/.exec(line);
      if (m?.[1] === 'ok') ok = Math.max(ok, Number(m[2]));
      if (m?.[1] !== 'r') continue;
      const entry: [number, boolean] = [Number(m[2]), m[3] === '1'];
      seen.push(entry);
      for (const s of streaks) {
        if (entry[0] <= s.since) continue;
        if (!entry[1]) { s.run = 0; continue; }
        if (s.run++ === 0) s.first = entry[0];
        if (s.run >= s.streak) { streaks.delete(s); s.resolve(s.first); }
      }
    }
    for (const w of waiters) if (ok >= w.n) { waiters.delete(w); w.resolve(); }
  });
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const exit = new Promise<number | null>((resolve) => child.once('close', resolve));
  return {
    reached: (n) => ok >= n ? Promise.resolve() : new Promise((resolve, reject) => {
      waiters.add({ n, resolve });
      void exit.then(() => reject(new Error(`load clients exited before ${n} requests: ${stderr}`)));
    }),
    resumingSince: (since, streak) => new Promise((resolve, reject) => {
      streaks.add({ since, streak, run: 0, first: 0, resolve });
      void exit.then(() => reject(new Error(`load clients exited before ${streak} cross-node resumptions in a row: ${stderr}`)));
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
