// The fuzz properties of the hello parsers, shared by `npm test` (a fixed seed, a few
// thousand runs) and `npm run fuzz` (many more runs, a fresh seed). Inputs are mutated
// real and built hellos plus random bytes; the parsers must never throw, never ask for
// more bytes past their limits, never point outside their input, and give the same
// answer for the same message however it is framed.
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import fc from 'fast-check';
import { parseClientHello, type ClientHello } from '../../../src/tls/client-hello.ts';
import { DEFAULT_HELLO_LIMITS, readHandshakeMessage, type HelloLimits, type HelloResult } from '../../../src/tls/records.ts';
import { HELLO_RETRY_REQUEST_RANDOM, parseServerHello, type ServerHello } from '../../../src/tls/server-hello.ts';
import {
  clientHelloBody, clientHelloRecords, ext, frameRecords, handshakeMessage, reframe, serverExt,
  serverHelloBody, serverHelloRecords, unframe, vec16, type Extension
} from './hello-builder.ts';

export interface Corpus { clientHellos: Buffer[]; serverHellos: Buffer[] }

/** Handshake message lengths fit in 24 bits; this is the "no limit" used where limits are not under test. */
const UNLIMITED: HelloLimits = { maxBytes: 0xffffff, maxRecords: 1 << 20 };

/** Built hellos with every extension the parsers read, plus real ones from Node's client. */
export async function collectCorpus (): Promise<Corpus> {
  const psk = [ext.pskModes([1]), ext.preSharedKey([Buffer.alloc(32, 0xaa), Buffer.alloc(120, 0xcc)])];
  const clientHellos = [
    clientHelloRecords(),
    clientHelloRecords({ extensions: [] }),
    clientHelloRecords({
      sessionId: Buffer.alloc(32, 1),
      extensions: [ext.serverName('fuzz.example'), ext.alpn(['h2', 'http/1.1']), ext.supportedVersions([0x0304, 0x0303]),
        ext.supportedGroups([29, 23]), ext.keyShare([[29, Buffer.alloc(32, 2)]]), ext.sessionTicket(Buffer.alloc(64, 3)),
        ext.earlyData(), ...psk]
    }),
    reframe(clientHelloRecords({ extensions: [ext.serverName('a.example'), ext.supportedVersions([0x0304]), ...psk] }), 50),
    ...await captureNodeClientHellos()
  ];
  const serverHellos = [
    serverHelloRecords(),
    serverHelloRecords({ extensions: [serverExt.supportedVersion(0x0304), serverExt.keyShare(29, Buffer.alloc(32, 4)), serverExt.selectedPsk(0)] }),
    serverHelloRecords({ sessionId: Buffer.alloc(32, 5), extensions: [serverExt.sessionTicket(), serverExt.alpn('h2'), [0xff01, Buffer.from([0])]] }),
    serverHelloRecords({ random: HELLO_RETRY_REQUEST_RANDOM, extensions: [serverExt.supportedVersion(0x0304), [51, Buffer.from([0, 24])]] }),
    frameRecords(Buffer.concat([handshakeMessage(2, serverHelloBody()), handshakeMessage(11, Buffer.alloc(200))]), 16384, 0x0303)
  ];
  return { clientHellos, serverHellos };
}

/** What Node's own TLS client sends (TLS 1.3 and 1.2), read by a local server that then hangs up. */
async function captureNodeClientHellos (): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const options of [{ servername: 'node.example', ALPNProtocols: ['h2'] }, { maxVersion: 'TLSv1.2' as const }]) {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const got = new Promise<Buffer>((resolve) => server.once('connection', (socket) => {
        let buf = Buffer.alloc(0);
        socket.on('error', () => {});
        socket.on('data', (chunk: Buffer) => {
          buf = Buffer.concat([buf, chunk]);
          if (parseClientHello(buf).status !== 'incomplete') { socket.destroy(); resolve(buf); }
        });
      }));
      const client = tls.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', ...options });
      client.on('error', () => {});
      out.push(await got);
      client.destroy();
    } finally {
      server.close();
    }
  }
  return out;
}

/**
 * A second, deliberately plain reading of a hello body's outer framing (fixed fields,
 * vectors, the extension list), to cross-check the parser: whatever it accepts must
 * frame exactly.
 */
function framesExactly (body: Buffer, msgType: number): boolean {
  let at = 2 + 32;
  const skipVector = (width: number, max = Infinity): boolean => {
    if (at + width > body.length) return false;
    const n = body.readUIntBE(at, width);
    at += width + n;
    return n <= max && at <= body.length;
  };
  if (at > body.length || !skipVector(1, 32)) return false;
  if (msgType === 1) {
    if (!skipVector(2) || !skipVector(1)) return false;
  } else {
    at += 3;
    if (at > body.length) return false;
  }
  if (at === body.length) return true;
  const end = at + 2 + (at + 2 <= body.length ? body.readUInt16BE(at) : 0);
  if (end !== body.length) return false;
  at += 2;
  while (at < end) {
    at += 2;
    if (!skipVector(2)) return false;
  }
  return at === end;
}

// ---- invariants every result must satisfy -------------------------------------------------

type Parser = (buf: Buffer, limits?: HelloLimits) => HelloResult<ClientHello | ServerHello>;

function buffersOf (value: ClientHello | ServerHello): Buffer[] {
  const fields = [value.random, value.sessionId];
  if ('pskIdentities' in value) {
    fields.push(...value.pskIdentities);
    if (value.sessionTicket !== undefined) fields.push(value.sessionTicket);
  }
  return fields;
}

/** A field must be a view of the input, or of the one copy made for a message spread over records. */
function assertWithin (field: Buffer, buf: Buffer, body: Buffer | undefined, limits: HelloLimits): void {
  if (field.buffer === buf.buffer) {
    assert.ok(field.byteOffset >= buf.byteOffset && field.byteOffset + field.length <= buf.byteOffset + buf.length, 'field outside the input');
    return;
  }
  assert.ok(field.buffer.byteLength <= limits.maxBytes, `a copy of ${field.buffer.byteLength} bytes exceeds maxBytes`);
  assert.ok(body !== undefined && body.indexOf(field) >= 0, 'field is not from the message');
}

/**
 * The checks behind every property: no throw, a known status, no internal error, and on
 * success a value that lies inside the input and does not depend on bytes after `bytes`.
 */
export function checkResult (parse: Parser, msgType: number, buf: Buffer, limits: HelloLimits = DEFAULT_HELLO_LIMITS): HelloResult<ClientHello | ServerHello> {
  const result = parse(buf, limits);
  if (result.status === 'incomplete') return result;
  if (result.status === 'error') {
    assert.ok(typeof result.reason === 'string' && result.reason.length > 0);
    assert.notEqual(result.reason, 'internal parser error');
    return result;
  }
  assert.equal(result.status, 'ok');
  assert.ok(Number.isInteger(result.bytes) && result.bytes > 0 && result.bytes <= buf.length, `bytes ${result.bytes} of ${buf.length}`);
  const value = result.value;
  assert.ok(value.records >= 1 && value.records <= limits.maxRecords);
  assert.equal(value.random.length, 32);
  assert.ok(value.sessionId.length <= 32);
  const message = readHandshakeMessage(buf, msgType, limits);
  assert.equal(message.status, 'ok');
  const body = message.status === 'ok' ? message.value.body : undefined;
  assert.ok(body !== undefined && body.length <= limits.maxBytes);
  assert.ok(framesExactly(body, msgType), 'accepted a body that does not frame exactly');
  for (const field of buffersOf(value)) assertWithin(field, buf, body, limits);
  // Only the bytes up to `bytes` matter: cut there, the answer is the same, and any shorter cut asks for more.
  const cut = parse(buf.subarray(0, result.bytes), limits);
  assert.equal(cut.status, 'ok');
  assert.deepEqual(cut.status === 'ok' && cut.value, value);
  assert.equal(parse(buf.subarray(0, result.bytes - 1), limits).status, 'incomplete');
  return result;
}

// ---- arbitraries ------------------------------------------------------------------------

const bytes = (min: number, max: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
const u16 = fc.integer({ min: 0, max: 0xffff });

/** One edit a fuzzer would make: a byte flipped, a length nudged, a cut, an insertion, a deletion. */
type Mutation = (buf: Buffer) => Buffer;
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([at, x]): Mutation => (b) => {
    if (b.length === 0) return b;
    const c = Buffer.from(b); c[at % c.length] ^= x; return c;
  }) },
  // Length fields are 1, 2 or 3 big-endian bytes; off-by-one and extreme values find the bounds bugs.
  { weight: 3, arbitrary: fc.tuple(fc.nat(), fc.constantFrom(1, 2, 3), fc.constantFrom(-1, 1, -2, 2, 0x100, 'zero' as const, 'max' as const)).map(([at, width, delta]): Mutation => (b) => {
    if (b.length < width) return b;
    const c = Buffer.from(b);
    const pos = at % (c.length - width + 1);
    const max = 2 ** (8 * width) - 1;
    const old = c.readUIntBE(pos, width);
    const next = delta === 'zero' ? 0 : delta === 'max' ? max : Math.min(max, Math.max(0, old + delta));
    c.writeUIntBE(next, pos, width);
    return c;
  }) },
  { weight: 1, arbitrary: fc.nat().map((at): Mutation => (b) => b.subarray(0, at % (b.length + 1))) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(), bytes(1, 40)).map(([at, ins]): Mutation => (b) => {
    const pos = at % (b.length + 1); return Buffer.concat([b.subarray(0, pos), ins, b.subarray(pos)]);
  }) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(), fc.integer({ min: 1, max: 40 })).map(([at, n]): Mutation => (b) => {
    const pos = at % (b.length + 1); return Buffer.concat([b.subarray(0, pos), b.subarray(pos + n)]);
  }) }
);

const edits = fc.array(mutation, { minLength: 1, maxLength: 4 });

/** Real and built hellos, edited anywhere: mostly exercises the record layer. */
export const mutated = (seeds: Buffer[]): fc.Arbitrary<Buffer> =>
  fc.tuple(fc.constantFrom(...seeds), edits).map(([seed, list]) => list.reduce((b, edit) => edit(b), seed));

/**
 * Hellos whose message body is edited and then framed again with true record and
 * handshake lengths, so the edits reach the body and extension parsers.
 */
export const mutatedBody = (seeds: Buffer[], msgType: number): fc.Arbitrary<Buffer> =>
  fc.tuple(fc.constantFrom(...seeds.map((s) => unframe(s).subarray(4))), edits,
    fc.oneof({ weight: 3, arbitrary: fc.constant(16384) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 16384 }) }))
    .map(([body, list, size]) => frameRecords(handshakeMessage(msgType, list.reduce((b, edit) => edit(b), body)), size));

/** Random bytes: bare, as a handshake body, or as the extensions of an otherwise sound hello. */
export const randomInput = (msgType: number): fc.Arbitrary<Buffer> => {
  const head = msgType === 1 ? clientHelloBody({ extensions: [] }) : serverHelloBody({ extensions: [] });
  const beforeExtensions = head.subarray(0, head.length - 2);
  return fc.oneof(
    bytes(0, 600),
    bytes(0, 600).map((body) => frameRecords(handshakeMessage(msgType, body))),
    fc.tuple(bytes(0, 400), fc.integer({ min: 1, max: 64 })).map(([body, size]) => frameRecords(handshakeMessage(msgType, body), size)),
    bytes(0, 600).map((block) => frameRecords(handshakeMessage(msgType, Buffer.concat([beforeExtensions, vec16(block)])))),
    // Random extensions with sound headers: a known type (or any) and a true length around random data.
    fc.array(fc.tuple(fc.oneof(fc.constantFrom(0, 10, 13, 16, 35, 41, 42, 43, 45, 51), u16), bytes(0, 60)), { maxLength: 8 })
      .map((list) => frameRecords(handshakeMessage(msgType, Buffer.concat([beforeExtensions,
        vec16(Buffer.concat(list.map(([t, d]) => Buffer.concat([Buffer.from([t >> 8, t & 0xff]), vec16(d)]))))]))))
  );
};

const limits: fc.Arbitrary<HelloLimits> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(DEFAULT_HELLO_LIMITS) },
  { weight: 1, arbitrary: fc.record({ maxBytes: fc.integer({ min: 0, max: 20_000 }), maxRecords: fc.integer({ min: 0, max: 8 }) }) }
);

// Built hellos with known contents, for the round trip.
const KNOWN_CLIENT = new Set([0, 10, 13, 16, 35, 41, 42, 43, 45, 51]);
const KNOWN_SERVER = new Set([16, 35, 41, 43, 51]);
const unknownExtensions = (known: Set<number>): fc.Arbitrary<Extension[]> =>
  fc.uniqueArray(fc.tuple(u16.filter((t) => !known.has(t)), bytes(0, 40)), { selector: ([t]) => t, maxLength: 4 })
    .map((list) => list.map(([t, d]) => [t, d] as const));
const hostName = fc.array(fc.stringMatching(/^[a-zA-Z0-9_-]{1,20}$/), { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));

interface Built<T> { records: Buffer; expected: Omit<T, 'records'> }

export const builtClientHello: fc.Arbitrary<Built<ClientHello>> = fc.record({
  legacyVersion: u16,
  random: bytes(32, 32),
  sessionId: bytes(0, 32),
  cipherSuites: fc.array(u16, { minLength: 1, maxLength: 40 }),
  compressionMethods: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 }),
  serverName: fc.option(hostName, { nil: undefined }),
  alpn: fc.option(fc.array(bytes(1, 20).map((b) => b.toString('latin1')), { minLength: 1, maxLength: 5 }), { nil: undefined }),
  supportedVersions: fc.option(fc.array(u16, { minLength: 1, maxLength: 8 }), { nil: undefined }),
  sessionTicket: fc.option(bytes(0, 300), { nil: undefined }),
  psk: fc.option(fc.array(bytes(1, 200), { minLength: 1, maxLength: 4 }), { nil: undefined }),
  pskModes: fc.option(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 3 }), { nil: undefined }),
  earlyData: fc.boolean(),
  unknown: unknownExtensions(KNOWN_CLIENT),
  noExtensions: fc.boolean()
}).chain((m) => {
  const exts: Extension[] = [...m.unknown];
  if (m.serverName !== undefined) exts.push(ext.serverName(m.serverName));
  if (m.alpn !== undefined) exts.push(ext.alpn(m.alpn));
  if (m.supportedVersions !== undefined) exts.push(ext.supportedVersions(m.supportedVersions));
  if (m.sessionTicket !== undefined) exts.push(ext.sessionTicket(m.sessionTicket));
  const pskModes = m.psk !== undefined ? m.pskModes ?? [1] : m.pskModes;
  if (pskModes !== undefined) exts.push(ext.pskModes(pskModes));
  if (m.earlyData) exts.push(ext.earlyData());
  const bare = m.noExtensions && exts.length === 0 && m.psk === undefined;
  return fc.tuple(fc.shuffledSubarray(exts, { minLength: exts.length, maxLength: exts.length }), fc.integer({ min: 1, max: 16384 }))
    .map(([order, size]): Built<ClientHello> => {
      const extensions = m.psk === undefined ? order : [...order, ext.preSharedKey(m.psk)];
      const body = clientHelloBody({ ...m, extensions: bare ? undefined : extensions });
      return {
        records: frameRecords(handshakeMessage(1, body), size),
        expected: {
          legacyVersion: m.legacyVersion, random: m.random, sessionId: m.sessionId, cipherSuites: m.cipherSuites,
          compressionMethods: m.compressionMethods,
          ...(m.serverName !== undefined ? { serverName: m.serverName.toLowerCase() } : {}),
          alpn: m.alpn ?? [], supportedVersions: m.supportedVersions ?? [], supportedGroups: [], keyShareGroups: [],
          signatureAlgorithms: [], hasSessionTicketExt: m.sessionTicket !== undefined,
          ...(m.sessionTicket !== undefined && m.sessionTicket.length > 0 ? { sessionTicket: m.sessionTicket } : {}),
          pskIdentities: m.psk ?? [], pskKeyExchangeModes: pskModes ?? [], earlyData: m.earlyData,
          extensionTypes: extensions.map(([t]) => t)
        }
      };
    });
});

export const builtServerHello: fc.Arbitrary<Built<ServerHello>> = fc.record({
  legacyVersion: u16,
  random: fc.oneof(bytes(32, 32), fc.constant(HELLO_RETRY_REQUEST_RANDOM)),
  sessionId: bytes(0, 32),
  cipherSuite: u16,
  compressionMethod: fc.integer({ min: 0, max: 255 }),
  version: fc.option(u16, { nil: undefined }),
  selectedPsk: fc.option(u16, { nil: undefined }),
  sessionTicket: fc.boolean(),
  alpn: fc.option(bytes(1, 20).map((b) => b.toString('latin1')), { nil: undefined }),
  keyShare: fc.option(fc.tuple(u16, bytes(1, 64)), { nil: undefined }),
  unknown: unknownExtensions(KNOWN_SERVER),
  size: fc.integer({ min: 1, max: 16384 })
}).map((m): Built<ServerHello> => {
  const hrr = m.random.equals(HELLO_RETRY_REQUEST_RANDOM);
  const extensions: Extension[] = [...m.unknown];
  if (m.version !== undefined) extensions.push(serverExt.supportedVersion(m.version));
  if (m.selectedPsk !== undefined) extensions.push(serverExt.selectedPsk(m.selectedPsk));
  if (m.sessionTicket) extensions.push(serverExt.sessionTicket());
  if (m.alpn !== undefined) extensions.push(serverExt.alpn(m.alpn));
  if (m.keyShare !== undefined) extensions.push(hrr ? [51, Buffer.from([m.keyShare[0] >> 8, m.keyShare[0] & 0xff])] : serverExt.keyShare(...m.keyShare));
  return {
    records: frameRecords(handshakeMessage(2, serverHelloBody({ ...m, extensions })), m.size, 0x0303),
    expected: {
      legacyVersion: m.legacyVersion, version: m.version ?? m.legacyVersion, random: m.random, sessionId: m.sessionId,
      cipherSuite: m.cipherSuite, compressionMethod: m.compressionMethod, isHelloRetryRequest: hrr,
      ...(m.selectedPsk !== undefined ? { selectedPsk: m.selectedPsk } : {}),
      hasSessionTicketExt: m.sessionTicket,
      ...(m.alpn !== undefined ? { alpn: m.alpn } : {}),
      ...(m.keyShare !== undefined ? { keyShareGroup: m.keyShare[0] } : {}),
      extensionTypes: extensions.map(([t]) => t)
    }
  };
});

// ---- the properties ---------------------------------------------------------------------

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each property has its own tuple of inputs
export interface NamedProperty { name: string; property: fc.IProperty<any> }

const withoutRecords = <T extends { records: number }>(v: T): Omit<T, 'records'> => {
  const { records: _, ...rest } = v;
  return rest;
};

export function helloProperties (corpus: Corpus): NamedProperty[] {
  const client = (buf: Buffer, l: HelloLimits = DEFAULT_HELLO_LIMITS) => checkResult(parseClientHello, 1, buf, l);
  const server = (buf: Buffer, l: HelloLimits = DEFAULT_HELLO_LIMITS) => checkResult(parseServerHello, 2, buf, l);
  return [
    { name: 'ClientHello: mutated hellos', property: fc.property(mutated(corpus.clientHellos), limits, (b, l) => { client(b, l); }) },
    { name: 'ClientHello: mutated message bodies', property: fc.property(mutatedBody(corpus.clientHellos, 1), limits, (b, l) => { client(b, l); }) },
    { name: 'ClientHello: random bytes', property: fc.property(randomInput(1), limits, (b, l) => { client(b, l); }) },
    { name: 'ServerHello: mutated hellos', property: fc.property(mutated(corpus.serverHellos), limits, (b, l) => { server(b, l); }) },
    { name: 'ServerHello: mutated message bodies', property: fc.property(mutatedBody(corpus.serverHellos, 2), limits, (b, l) => { server(b, l); }) },
    { name: 'ServerHello: random bytes', property: fc.property(randomInput(2), limits, (b, l) => { server(b, l); }) },
    {
      name: 'ClientHello: every prefix of a real hello is incomplete',
      property: fc.property(fc.constantFrom(...corpus.clientHellos), fc.nat(), (b, at) => {
        assert.equal(client(b.subarray(0, at % b.length), UNLIMITED).status, 'incomplete');
      })
    },
    {
      name: 'ClientHello: any framing gives the same hello',
      property: fc.property(fc.constantFrom(...corpus.clientHellos), fc.integer({ min: 1, max: 700 }), (b, size) => {
        const whole = client(b, UNLIMITED);
        const framed = client(reframe(b, size), UNLIMITED);
        assert.ok(whole.status === 'ok' && framed.status === 'ok');
        assert.deepEqual(withoutRecords(framed.value), withoutRecords(whole.value));
      })
    },
    {
      name: 'ClientHello: built hellos round-trip',
      property: fc.property(builtClientHello, ({ records, expected }) => {
        const result = client(records, UNLIMITED);
        assert.equal(result.status, 'ok', result.status === 'error' ? result.reason : undefined);
        assert.deepEqual(result.status === 'ok' && withoutRecords(result.value as ClientHello), expected);
      })
    },
    {
      name: 'ServerHello: built hellos round-trip',
      property: fc.property(builtServerHello, ({ records, expected }) => {
        const result = server(records, UNLIMITED);
        assert.equal(result.status, 'ok', result.status === 'error' ? result.reason : undefined);
        assert.deepEqual(result.status === 'ok' && withoutRecords(result.value as ServerHello), expected);
      })
    }
  ];
}
