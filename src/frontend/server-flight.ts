// Reads the plaintext start of what a backend sends back in pass-through mode, chunk by
// chunk, as the chunks are being forwarded (it never holds them back): the ServerHello
// (after a HelloRetryRequest, the second one), and for TLS 1.2 the rest of the
// unencrypted handshake up to ChangeCipherSpec, which shows whether the handshake was
// abbreviated (resumed) and carries the NewSessionTicket (RFC 5077 §3.3: sent before
// ChangeCipherSpec, so in clear), whose first 16 bytes name the backend's ticket key.
// Bounded: the hello by `limits`, the walk after it by `maxBytes`; never throws.
import type { HelloLimits } from '../tls/records.ts';
import { parseServerHello, type ServerHello } from '../tls/server-hello.ts';

export interface ServerFlightOptions {
  limits: HelloLimits;
  /** Most bytes walked after a TLS 1.2 ServerHello looking for the NewSessionTicket (certificate chains pass by here). */
  maxBytes: number;
}

export const DEFAULT_SERVER_FLIGHT_OPTIONS: ServerFlightOptions = Object.freeze({
  limits: Object.freeze({ maxBytes: 16384, maxRecords: 4 }),
  maxBytes: 65536,
});

export type FlightUpdate =
  | { type: 'hello'; hello: ServerHello }
  /** Whether the backend resumed: TLS 1.3 at the ServerHello, TLS 1.2 at the first message after it. */
  | { type: 'resumed'; resumed: boolean }
  /** TLS 1.2: the key name of the ticket the backend just issued. */
  | { type: 'ticket'; keyName: Buffer }
  | { type: 'error'; reason: string };

const TLS13 = 0x0304;
const CONTENT_CCS = 20;
const CONTENT_HANDSHAKE = 22;
const RECORD_HEADER = 5;
const MSG_HEADER = 4;
const NEW_SESSION_TICKET = 4;
/** Messages only a full TLS 1.2 handshake sends (Certificate, ServerKeyExchange, CertificateRequest, ServerHelloDone). */
const FULL_HANDSHAKE_MESSAGES = new Set([11, 12, 13, 14]);
/** lifetime_hint (4) + ticket length (2) + key name (16). */
const TICKET_PREFIX = 22;
const KEY_NAME_BYTES = 16;

type Phase = 'hello' | 'walk' | 'done';

export class ServerFlightReader {
  #options: ServerFlightOptions;
  #phase: Phase = 'hello';
  #buffer: Buffer = Buffer.alloc(0);
  #retried = false;
  #resumedKnown = false;
  // The walk after a TLS 1.2 ServerHello: where we are in records and in messages.
  #walked = 0;
  #recordLeft = 0;
  #recordHeader: number[] = [];
  #msgHeader: number[] = [];
  #msgType = -1;
  #msgLeft = 0;
  #capture: number[] = [];

  constructor (options: Partial<ServerFlightOptions> = {}) {
    this.#options = { ...DEFAULT_SERVER_FLIGHT_OPTIONS, ...options };
  }

  /** Nothing more to learn: stop feeding. */
  get done (): boolean { return this.#phase === 'done'; }

  push (chunk: Buffer): FlightUpdate[] {
    const out: FlightUpdate[] = [];
    if (this.#phase === 'hello') this.#hello(chunk, out);
    else if (this.#phase === 'walk') this.#walk(chunk, 0, out);
    return out;
  }

  #hello (chunk: Buffer, out: FlightUpdate[]): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    // After a HelloRetryRequest, TLS 1.3 middlebox compatibility puts a ChangeCipherSpec first.
    while (this.#retried && this.#buffer.length > 0 && this.#buffer[0] === CONTENT_CCS) {
      if (this.#buffer.length < RECORD_HEADER) return;
      const end = RECORD_HEADER + this.#buffer.readUInt16BE(3);
      if (this.#buffer.length < end) return;
      this.#buffer = this.#buffer.subarray(end);
    }
    const result = parseServerHello(this.#buffer, this.#options.limits);
    if (result.status === 'incomplete') return;
    if (result.status === 'error') { this.#finish(); out.push({ type: 'error', reason: result.reason }); return; }
    const hello = result.value;
    const rest = this.#buffer.subarray(result.bytes);
    if (hello.isHelloRetryRequest) {
      if (this.#retried) { this.#finish(); out.push({ type: 'error', reason: 'a second HelloRetryRequest' }); return; }
      this.#retried = true;
      this.#buffer = Buffer.alloc(0);
      if (rest.length > 0) this.#hello(rest, out);
      return;
    }
    out.push({ type: 'hello', hello });
    if (hello.version === TLS13) {
      out.push({ type: 'resumed', resumed: hello.selectedPsk !== undefined });
      this.#finish();
      return;
    }
    // TLS 1.2: the ServerHello may share its record with the Certificate; find where that record ends.
    let end = 0;
    while (end < result.bytes) end += RECORD_HEADER + this.#buffer.readUInt16BE(end + 3);
    this.#recordLeft = end - result.bytes;
    const buffered = this.#buffer;
    this.#buffer = Buffer.alloc(0);
    this.#phase = 'walk';
    this.#walk(buffered, result.bytes, out);
  }

  #walk (chunk: Buffer, from: number, out: FlightUpdate[]): void {
    this.#walked += chunk.length - from;
    let i = from;
    while (i < chunk.length && this.#phase === 'walk') {
      if (this.#recordLeft === 0) {
        this.#recordHeader.push(chunk[i++]);
        if (this.#recordHeader.length < RECORD_HEADER) continue;
        const [type, , , hi, lo] = this.#recordHeader;
        this.#recordHeader = [];
        if (type !== CONTENT_HANDSHAKE) {
          // ChangeCipherSpec (or an alert): the clear part is over. Reaching it with no
          // Certificate on the way means the handshake was abbreviated.
          if (type === CONTENT_CCS) this.#decide(true, out);
          this.#finish();
          return;
        }
        this.#recordLeft = (hi << 8) | lo;
        continue;
      }
      const n = Math.min(this.#recordLeft, chunk.length - i);
      this.#message(chunk, i, n, out);
      this.#recordLeft -= n;
      i += n;
    }
    if (this.#phase === 'walk' && this.#walked > this.#options.maxBytes) this.#finish();
  }

  /** Feeds `n` handshake bytes at `at` through the message framing, which runs across records. */
  #message (chunk: Buffer, at: number, n: number, out: FlightUpdate[]): void {
    let i = at;
    const end = at + n;
    while (i < end && this.#phase === 'walk') {
      if (this.#msgType < 0) {
        this.#msgHeader.push(chunk[i++]);
        if (this.#msgHeader.length < MSG_HEADER) continue;
        const [type, a, b, c] = this.#msgHeader;
        this.#msgHeader = [];
        this.#msgType = type;
        this.#msgLeft = (a << 16) | (b << 8) | c;
        this.#capture = [];
        if (FULL_HANDSHAKE_MESSAGES.has(type)) this.#decide(false, out);
        else if (type === NEW_SESSION_TICKET) this.#decide(true, out);
        if (this.#msgLeft === 0) this.#endMessage(out);
        continue;
      }
      const take = Math.min(this.#msgLeft, end - i);
      if (this.#msgType === NEW_SESSION_TICKET) {
        for (let k = 0; k < take && this.#capture.length < TICKET_PREFIX; k++) this.#capture.push(chunk[i + k]);
      }
      this.#msgLeft -= take;
      i += take;
      if (this.#msgLeft === 0) this.#endMessage(out);
    }
  }

  #endMessage (out: FlightUpdate[]): void {
    if (this.#msgType === NEW_SESSION_TICKET && this.#capture.length === TICKET_PREFIX) {
      const length = (this.#capture[4] << 8) | this.#capture[5];
      if (length >= KEY_NAME_BYTES) out.push({ type: 'ticket', keyName: Buffer.from(this.#capture.slice(6, TICKET_PREFIX)) });
    }
    this.#msgType = -1;
    this.#capture = [];
  }

  /** A NewSessionTicket before any Certificate: resumed (the full handshake's comes after ServerHelloDone). */
  #decide (resumed: boolean, out: FlightUpdate[]): void {
    if (this.#resumedKnown) return;
    this.#resumedKnown = true;
    out.push({ type: 'resumed', resumed });
  }

  #finish (): void {
    this.#phase = 'done';
    this.#buffer = Buffer.alloc(0);
    this.#capture = [];
  }
}
