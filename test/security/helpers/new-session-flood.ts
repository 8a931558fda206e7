// A client that makes new TLS 1.2 sessions as fast as it can, every one from the same
// source address (the point: one greedy address). Run as its own process so it gets a
// core of its own: node new-session-flood.ts PORT SECONDS CONNECTIONS SOURCE
// Prints {"full": N, "errors": N}. (`warmshake bench` spreads its connections over many
// source addresses, so it cannot stand in for one address.)
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

const [port, seconds, connections] = process.argv.slice(2, 5).map(Number);
const source = process.argv[5];
const deadline = Date.now() + seconds * 1000;
let full = 0;
let errors = 0;

// In TLS 1.2 the server finishes (and stores the session) before the client does, so
// closing at once on secureConnect still leaves one new session behind each time.
function handshake (): Promise<void> {
  return new Promise((resolve) => {
    const s = tlsConnect({
      socket: connect({ port, host: '127.0.0.1', localAddress: source }),
      servername: 'localhost', rejectUnauthorized: false, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2',
    }, () => { full++; s.destroy(); resolve(); });
    s.on('error', () => { errors++; resolve(); });
  });
}

async function loop (): Promise<void> {
  while (Date.now() < deadline) await handshake();
}

await Promise.all(Array.from({ length: connections }, loop));
process.stdout.write(`${JSON.stringify({ full, errors })}\n`);
