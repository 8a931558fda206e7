// Each connection is served as if it were the first, though the native engine reuses
// the SSL object of a connection that ended cleanly for the next one (src/native/c/
// ssl_spare.c): one worker, two certificates, and a sequence of connections, each
// closed cleanly, that changes what a kept SSL could carry over: the certificate the
// SNI picked, the session (one offered, none, one made for another name), the TLS
// version, ticket or id. Python's ssl client, one process, connections one after the
// other (so each one can get the last one's SSL). Runs on both engines: the answers are
// the engine's contract, whatever it keeps.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { httpBackend } from '../helpers/backend.ts';
import { tempDir, writeCert } from '../helpers/certs.ts';
import { ENGINES } from '../helpers/engines.ts';
import { PY_TLS_CONTEXT, run } from '../helpers/peers.ts';
import { startWarmshake, terminateConfig } from '../helpers/warmshake.ts';

/** One step: the SNI to send ('' none), the TLS version, the saved session to offer ('' none), the name to save this one's under. */
interface Step { sni: string; tls: '1.2' | '1.3'; offer: string; save: string; ticket: boolean }
interface Seen { reused: boolean; cert: string; body: string }

const PY = String.raw`
import hashlib, json, socket, ssl, sys
port, steps = int(sys.argv[1]), json.loads(sys.argv[2])
TLS_CONTEXT = ${JSON.stringify(PY_TLS_CONTEXT)}

def context(tls, ticket):
    # peers.ts's client context for this version; tickets off: session ids
    scope = {'ssl': ssl, 'version': tls}
    exec(TLS_CONTEXT, scope)
    if not ticket:
        scope['ctx'].options |= ssl.OP_NO_TICKET
    return scope['ctx']

contexts, saved, out = {}, {}, []
for step in steps:
    key = (step['tls'], step['ticket'])
    if key not in contexts:
        contexts[key] = context(*key)
    with socket.create_connection(('127.0.0.1', port)) as raw:
        with contexts[key].wrap_socket(raw, server_hostname=step['sni'] or None, session=saved.get(step['offer'])) as s:
            s.sendall(b'GET / HTTP/1.0\r\n\r\n')
            body = b''
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                body += chunk
            out.append({'reused': s.session_reused, 'cert': hashlib.sha256(s.getpeercert(True)).hexdigest(), 'body': body.decode().split('\r\n\r\n')[-1]})
            if step['save']:
                saved[step['save']] = s.session
print(json.dumps(out))
`;

/** Runs the steps in one client process; what each connection saw. */
async function connections (port: number, steps: Step[]): Promise<Seen[]> {
  const r = await run('python3', ['-c', PY, String(port), JSON.stringify(steps)], '', 120_000);
  if (r.code !== 0) throw new Error(`python client failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Seen[];
}

function fingerprint (file: string): string {
  return new X509Certificate(readFileSync(file)).fingerprint256.replaceAll(':', '').toLowerCase();
}

const step = (sni: string, tls: '1.2' | '1.3', offer = '', save = '', ticket = false): Step => ({ sni, tls, offer, save, ticket });

for (const engine of ENGINES) {
  test(`[${engine}] connection after connection on one worker: the certificate, the session and the version are each one's own`, async (t) => {
    const dir = tempDir(t);
    const first = writeCert(dir, ['localhost', '127.0.0.1'], 'first');
    const other = writeCert(dir, ['other.test'], 'other');
    const backend = await httpBackend(t, 'answered\n');
    const ws = await startWarmshake(t, dir, terminateConfig({ engine, backendPort: backend.port, cert: first.cert, key: first.key, extraCerts: [{ cert: other.cert, key: other.key }] }));
    await ws.waitForLog((l) => l.msg.startsWith('engine: ') && l.engine === engine);
    const [a, b] = [fingerprint(first.cert), fingerprint(other.cert)];
    // [step, the certificate expected, resumed expected]
    const plan: Array<[Step, string, boolean]> = [
      [step('localhost', '1.2', '', 'id-a'), a, false],
      [step('localhost', '1.2', 'id-a'), a, true],
      [step('other.test', '1.2', '', 'id-b'), b, false],
      [step('', '1.2'), a, false],                 // no SNI after a connection on the other certificate
      [step('localhost', '1.2'), a, false],        // no session offered after a resumed one
      [step('other.test', '1.2', 'id-b'), b, true],
      [step('localhost', '1.2', 'id-b'), a, false], // a session of another name does not resume
      [step('localhost', '1.3', '', 't13', true), a, false],
      [step('localhost', '1.2', 'id-a'), a, true], // TLS 1.2 after TLS 1.3
      [step('localhost', '1.3', 't13', '', true), a, true],
      [step('localhost', '1.2', '', 'tk', true), a, false],
      [step('localhost', '1.2', 'tk', '', true), a, true],
      [step('other.test', '1.3', '', '', true), b, false],
      [step('', '1.2', 'id-a'), a, false],         // made under "localhost", offered with no SNI
    ];
    // Twice over: the second round runs on SSL objects the first one left.
    const steps = [...plan, ...plan].map(([s]) => s);
    const seen = await connections(ws.ports.https!, steps);
    assert.equal(seen.length, steps.length);
    [...plan, ...plan].forEach(([s, cert, reused], i) => {
      const what = `connection ${i + 1}: ${JSON.stringify(s)}`;
      assert.equal(seen[i].cert, cert === a ? a : b, `${what}: certificate`);
      assert.equal(seen[i].reused, reused, `${what}: resumed`);
      assert.equal(seen[i].body, 'answered\n', `${what}: answer`);
    });
    // Every handshake was recorded (each line is matched once), and no connection failed.
    let records = 0;
    await ws.waitForLog((l) => l.resumed !== undefined && ++records >= steps.length);
    assert.deepEqual(ws.logs.filter((l) => l.stage !== undefined).map((l) => `${String(l.stage)}: ${String(l.reason)}`), [], 'no connection failed');
  });
}
