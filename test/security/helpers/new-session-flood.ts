// A client that makes new TLS 1.2 sessions as fast as it can, every one from the same
// source address (the point: one greedy address). Run as its own process so it gets a
// core of its own: node new-session-flood.ts PORT CONNECTIONS SOURCE
// Each line N on stdin: make N full handshakes (completed ones; a failed attempt is
// counted and tried again), over CONNECTIONS at once, then print {"full": N, "errors": N}.
// Counted, not timed, so the flood is the same size on an idle or a loaded machine.
// (`warmshake bench` spreads its connections over many source addresses, so it cannot
// stand in for one address.)
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { connect as tlsConnect } from 'node:tls';

const [port, connections] = process.argv.slice(2, 4).map(Number);
const source = process.argv[4];

// In TLS 1.2 the server finishes (and stores the session) before the client does, so
// closing at once on secureConnect still leaves one new session behind each time.
function handshake (): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tlsConnect({
      socket: connect({ port, host: '127.0.0.1', localAddress: source }),
      servername: 'localhost', rejectUnauthorized: false, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2',
    }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

async function flood (count: number): Promise<{ full: number; errors: number }> {
  let started = 0;
  let full = 0;
  let errors = 0;
  const loop = async (): Promise<void> => {
    // Give up only if most attempts fail: that is a broken server, not a busy one.
    while (started < count && errors <= count) {
      started++;
      if (await handshake()) full++;
      else { errors++; started--; }
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  return { full, errors };
}

for await (const line of createInterface({ input: process.stdin })) {
  const count = Number(line);
  if (!(count > 0)) break;
  process.stdout.write(`${JSON.stringify(await flood(count))}\n`);
}
