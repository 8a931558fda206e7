// Reads a ClientHello off a raw socket without consuming it for good: the bytes are
// put back (`unshift`) for TLS or replayed to a backend. Used by both modes.
import type { Socket } from 'node:net';
import { parseClientHello, type ClientHello } from './client-hello.ts';
import type { AlertCode } from './alerts.ts';
import type { HelloLimits } from './records.ts';

export type HelloOutcome =
  | { ok: true; hello: ClientHello; bytes: Buffer }
  /** `alert`: what to answer with before closing; none when the client left or does not speak TLS. */
  | { ok: false; reason: string; alert?: AlertCode };

/**
 * Calls `done` once: with the parsed hello and every byte read so far, or with the
 * reason it cannot be one. The caller owns timeouts (one timer covers the whole
 * handshake) and closing the socket.
 */
export function readClientHello (socket: Socket, limits: HelloLimits, done: (outcome: HelloOutcome) => void): void {
  let buffered: Buffer | undefined;
  let finished = false;
  const finish = (outcome: HelloOutcome): void => {
    if (finished) return;
    finished = true;
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.pause();
    done(outcome);
  };
  const onData = (chunk: Buffer): void => {
    buffered = buffered === undefined ? chunk : Buffer.concat([buffered, chunk]);
    const result = parseClientHello(buffered, limits);
    if (result.status === 'ok') finish({ ok: true, hello: result.value, bytes: buffered });
    else if (result.status === 'error') finish({ ok: false, reason: result.reason, alert: result.alert });
  };
  const onEnd = (): void => finish({ ok: false, reason: buffered ? 'connection closed in the middle of the ClientHello' : 'connection closed before any byte' });
  socket.on('data', onData);
  socket.on('end', onEnd);
}
