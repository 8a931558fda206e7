// `npm run fuzz [runs] [seed]`: the hello parser properties of test/tls/fuzz.test.ts with
// many more runs and a fresh seed each time (printed, so a failure can be replayed).
import fc from 'fast-check';
import { collectCorpus, helloProperties } from '../tls/helpers/fuzz-properties.ts';

const runs = Number(process.argv[2] ?? 200_000);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
if (!Number.isInteger(runs) || runs <= 0 || !Number.isInteger(seed)) {
  console.error('usage: node test/fuzz/run.ts [runs] [seed]');
  process.exit(2);
}

const corpus = await collectCorpus();
console.log(`hello parser fuzz: ${runs} runs per property, seed ${seed}, corpus ${corpus.clientHellos.length} ClientHellos + ${corpus.serverHellos.length} ServerHellos`);
let failed = 0;
let total = 0;
const started = performance.now();
for (const { name, property } of helloProperties(corpus)) {
  const t0 = performance.now();
  const details = fc.check(property, { seed, numRuns: runs });
  const seconds = (performance.now() - t0) / 1000;
  total += details.numRuns;
  const rate = Math.round(details.numRuns / seconds);
  if (details.failed) {
    failed++;
    console.log(`FAIL ${name} after ${details.numRuns} runs`);
    console.log(fc.defaultReportMessage(details));
  } else {
    console.log(`ok   ${name}: ${details.numRuns} runs in ${seconds.toFixed(1)} s (${rate} runs/s)`);
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(`${failed === 0 ? 'passed' : `${failed} properties failed`}: ${total} runs in ${seconds.toFixed(1)} s (${Math.round(total / seconds)} runs/s)`);
process.exitCode = failed === 0 ? 0 : 1;
