// The TLS alerts the hello pre-reader answers with (RFC 8446 §6), chosen as the native
// engine's OpenSSL chooses them for the same bytes, so a client sees one behaviour on
// both engines: a hello over a limit is illegal_parameter (what OpenSSL sends for a
// message over its own bound, and what c/hello.c sends), a record longer than 2^14 is
// record_overflow, a record or handshake message out of place is unexpected_message,
// a field or length that does not decode is decode_error.

export const ALERT = {
  unexpectedMessage: 10,
  recordOverflow: 22,
  illegalParameter: 47,
  decodeError: 50,
} as const;

export type AlertCode = typeof ALERT[keyof typeof ALERT];

const CONTENT_ALERT = 21;
const LEVEL_FATAL = 2;

/**
 * One plaintext fatal alert record. The record version is TLS 1.2's (0x0303), as
 * OpenSSL writes before a version is agreed on and as c/hello.c writes.
 */
export function alertRecord (code: AlertCode): Buffer {
  return Buffer.from([CONTENT_ALERT, 3, 3, 0, 2, LEVEL_FATAL, code]);
}
