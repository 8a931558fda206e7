// One timer per thread for the periodic work of a quiet thread. With the native engine
// at log level warn nothing else wakes a thread's JS: each timer of its own is a
// wake-up of the thread (an epoll return, a trip through libuv and V8), paid every
// period whether anything changed or not. So the counter sum (500 ms), the gauges and
// the cache watch (1 s) and the admin sample (1 s) share one beat per thread, and a
// quiet worker wakes twice a second instead of three times (docs/profiling-native.md).
// Timers whose period is no multiple of the beat (tests' short samples) keep their own.

/** The beat's period (ms): the native counters' sum (docs/native.md). */
export const BEAT_MS = 500;

interface Job { run: () => void; beats: number }

const jobs = new Set<Job>();
let timer: NodeJS.Timeout | undefined;
/** Beats the timer spans: the greatest common divisor of the jobs' (a thread with 1 s jobs only wakes once a second). */
let step = 0;
/** Beats since the timer started: a job runs when its period divides it, so jobs of one period run together. */
let count = 0;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

function beat (): void {
  count += step;
  for (const job of jobs) {
    if (count % job.beats !== 0) continue;
    // One job that throws must not stop the others, nor the beat.
    try { job.run(); } catch (err) { queueMicrotask(() => { throw err; }); }
  }
}

/** Sets the timer to the jobs' common period (none without jobs). */
function rearm (): void {
  let beats = 0;
  for (const job of jobs) beats = gcd(job.beats, beats);
  if (beats === step) return;
  if (timer) clearInterval(timer);
  timer = undefined;
  step = beats;
  count = 0;
  if (beats === 0) return;
  timer = setInterval(beat, beats * BEAT_MS);
  timer.unref();
}

/**
 * Runs `run` every `ms` on the thread's beat, or on a timer of its own when `ms` is no
 * multiple of BEAT_MS; like an unref'd setInterval, the beat keeps no thread alive. The
 * first run comes within `ms` (jobs of one period run together). Returns what stops it.
 */
export function every (ms: number, run: () => void): () => void {
  if (ms <= 0 || ms % BEAT_MS !== 0) {
    const own = setInterval(run, ms);
    own.unref();
    return () => clearInterval(own);
  }
  const job: Job = { run, beats: ms / BEAT_MS };
  jobs.add(job);
  rearm();
  return () => {
    if (jobs.delete(job)) rearm();
  };
}
