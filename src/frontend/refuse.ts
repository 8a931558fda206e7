// Refusing a ClientHello with one fatal TLS alert (RFC 8446 §6) rather than a bare
// close, in both modes, before anything else has written to the client. Writing the
// alert is the easy part; closing after it so that the client really reads it, without
// holding anything for long, is what this file is about:
// - The hello reader left the socket paused, often with bytes still coming (the rest of
//   an oversized hello, a client that streams on). Closing a socket with unread bytes
//   makes the kernel send a reset, and a reset can make the client's kernel drop the
//   alert before the client reads it. So the socket is resumed and what arrives is
//   dropped (never buffered), and the close waits for the client's FIN.
// - The listener allows half-open connections (for proxying), so the client's FIN does
//   not close the socket by itself: it is destroyed once both FINs are through.
// - A client that never reads and never leaves is not waited for: the socket is
//   destroyed at a short deadline, or as soon as it has sent more than `maxDrainBytes`
//   after the refusal. A flood of refused clients costs a timer and a socket each, for
//   at most the deadline.
import type { Socket } from 'node:net';
import { alertRecord, type AlertCode } from '../tls/alerts.ts';

export interface RefuseOptions {
  /** Longest wait, in ms, for the client to read the alert and close its side. */
  lingerMs: number;
  /** Most bytes dropped after the refusal before giving up on the client. */
  maxDrainBytes: number;
}

export const DEFAULT_REFUSE_OPTIONS: Readonly<RefuseOptions> = Object.freeze({ lingerMs: 2000, maxDrainBytes: 65536 });

/** Writes the alert, half-closes, and destroys the socket once the client is gone or the bounds are hit. */
export function refuseWithAlert (socket: Socket, code: AlertCode, options: Partial<RefuseOptions> = {}): void {
  const o = { ...DEFAULT_REFUSE_OPTIONS, ...options };
  if (socket.destroyed) return;
  if (!socket.writable) { socket.destroy(); return; }
  const timer = setTimeout(() => socket.destroy(), o.lingerMs);
  socket.once('close', () => clearTimeout(timer));
  let dropped = 0;
  socket.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > o.maxDrainBytes) socket.destroy();
  });
  // Both ways through: the alert handed to the kernel (finish) and the client's FIN read (end).
  const closeIfDone = (): void => { if (socket.writableFinished && socket.readableEnded) socket.destroy(); };
  socket.once('end', closeIfDone);
  socket.end(alertRecord(code), closeIfDone);
  socket.resume();
}
