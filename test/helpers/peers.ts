// Real TLS clients written by others: openssl s_client and Python's ssl module.
import { spawn } from 'node:child_process';

export interface Run { code: number | null; stdout: string; stderr: string }

/**
 * The environment for peers: without the sanitizer run's LD_PRELOAD (docs/native.md),
 * which is meant for warmshake and the test runner, not for openssl, curl or Python.
 */
function peerEnv (): NodeJS.ProcessEnv {
  const { LD_PRELOAD: _preload, ...env } = process.env;
  return env;
}

/** Runs a command with `input` on stdin, killed after `timeoutMs` (a hang guard: a loaded machine may take many seconds). */
export function run (cmd: string, args: string[], input = '', timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: cmd === process.execPath ? process.env : peerEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

export interface SClientOptions {
  port: number;
  tls: '1.2' | '1.3';
  servername?: string;
  sessOut?: string;
  sessIn?: string;
  reconnect?: boolean;
  noTicket?: boolean;
  /** Bytes to send once connected (an HTTP/1.0 request by default, so the server closes). */
  input?: string;
  /** More s_client flags (`-msg`, `-no_middlebox`, ...). */
  extra?: string[];
}

/** One `openssl s_client` run; `reused` counts the connections that said `Reused`. */
export async function sClient (o: SClientOptions): Promise<Run & { reused: number; fresh: number }> {
  const args = ['s_client', '-connect', `127.0.0.1:${o.port}`, o.tls === '1.2' ? '-tls1_2' : '-tls1_3'];
  // Wait for the server to close (and its TLS 1.3 tickets to arrive) unless only reconnecting.
  if (!o.reconnect) args.push('-ign_eof');
  if (o.servername) args.push('-servername', o.servername);
  if (o.sessOut) args.push('-sess_out', o.sessOut);
  if (o.sessIn) args.push('-sess_in', o.sessIn);
  if (o.reconnect) args.push('-reconnect');
  if (o.noTicket) args.push('-no_ticket');
  if (o.extra) args.push(...o.extra);
  const r = await run('openssl', args, o.reconnect ? '' : o.input ?? 'GET / HTTP/1.0\r\n\r\n');
  return { ...r, reused: (r.stdout.match(/^Reused,/gm) ?? []).length, fresh: (r.stdout.match(/^New,/gm) ?? []).length };
}

/** Python: `ctx`, a TLS client context that checks no certificate, pinned to `version` ('1.2' or '1.3'). */
export const PY_TLS_CONTEXT = String.raw`
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
v = ssl.TLSVersion.TLSv1_2 if version == '1.2' else ssl.TLSVersion.TLSv1_3
ctx.minimum_version = v
ctx.maximum_version = v
`;

const PY_CLIENT = String.raw`
import json, socket, ssl, sys
ports, version, count, sni = [int(p) for p in sys.argv[1].split(',')], sys.argv[2], int(sys.argv[3]), sys.argv[4]
source = sys.argv[5] if len(sys.argv) > 5 else None
${PY_TLS_CONTEXT}
session = None
out = []
for i in range(count):
    port = ports[i % len(ports)]
    with socket.create_connection(('127.0.0.1', port), source_address=(source, 0) if source else None) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni, session=session) as s:
            s.sendall(b'GET / HTTP/1.0\r\n\r\n')
            while s.recv(65536):
                pass
            out.append(s.session_reused)
            session = s.session
print(json.dumps(out))
`;

/**
 * Python's ssl module reconnecting `count` times with the last session, one boolean
 * (session_reused) per connection; several ports are taken in turn (a client roaming
 * over nodes); `source` binds the client to a loopback address such as 127.0.0.7.
 */
export async function pythonResume (port: number | number[], version: '1.2' | '1.3', count: number, sni = 'localhost', source?: string): Promise<boolean[]> {
  const ports = Array.isArray(port) ? port.join(',') : String(port);
  const r = await run('python3', ['-c', PY_CLIENT, ports, version, String(count), sni, ...(source ? [source] : [])]);
  if (r.code !== 0) throw new Error(`python client failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as boolean[];
}
