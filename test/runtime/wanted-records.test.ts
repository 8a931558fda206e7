// Which records the native engine is asked for at each log level: what observe.ts logs
// there, the shutdown cuts the worker counts, nothing more; and the word the engine
// reads (counters.ts recordMask) sets exactly those bits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NC_STAGES, RECORD, recordMask } from '../../src/native/counters.ts';
import { createLogger } from '../../src/runtime/logger.ts';
import { followWantedRecords, wantedRecords } from '../../src/runtime/observe.ts';

const sorted = (stages: readonly string[]): string[] => [...stages].sort();

test('warn: no handshake or stored records; errors logged at warn (backend) and the shutdown cuts', () => {
  const w = wantedRecords(createLogger({ level: 'warn', format: 'json' }));
  assert.equal(w.handshake, false);
  assert.equal(w.stored, false);
  assert.deepEqual(sorted(w.errors), ['backend', 'shutdown']);
});

test('info: handshakes and every error but the debug-only proxy stage; debug: everything', () => {
  const info = wantedRecords(createLogger({ level: 'info', format: 'json' }));
  assert.equal(info.handshake, true);
  assert.equal(info.stored, false);
  assert.deepEqual(sorted(info.errors), sorted(NC_STAGES.filter((s) => s !== 'proxy')));
  const debug = wantedRecords(createLogger({ level: 'debug', format: 'json' }));
  assert.deepEqual({ ...debug, errors: sorted(debug.errors) }, { handshake: true, stored: true, errors: sorted(NC_STAGES) });
});

test('the mask holds one bit per wanted kind and stage, and follows a change of level', () => {
  const log = createLogger({ level: 'warn', format: 'json' });
  const masks: bigint[] = [];
  followWantedRecords(log, (w) => masks.push(recordMask(w)));
  const bit = (stage: typeof NC_STAGES[number]): bigint => 1n << BigInt(RECORD.ERROR_SHIFT + NC_STAGES.indexOf(stage));
  assert.deepEqual(masks, [bit('backend') | bit('shutdown')]);
  log.level = 'debug';
  const all = NC_STAGES.reduce((m, s) => m | bit(s), BigInt(RECORD.HANDSHAKE | RECORD.STORED));
  assert.deepEqual(masks, [bit('backend') | bit('shutdown'), all]);
});
