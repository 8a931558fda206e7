// The parser fuzz properties on a fixed seed, so a failure here is reproducible as is;
// `npm run fuzz` runs the same properties longer with a fresh seed.
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { collectCorpus, helloProperties } from './helpers/fuzz-properties.ts';

const SEED = 42;
const RUNS = 2000;

const corpus = await collectCorpus();

describe('hello parser fuzzing', () => {
  for (const { name, property } of helloProperties(corpus)) {
    test(name, () => { fc.assert(property, { seed: SEED, numRuns: RUNS }); });
  }
});
