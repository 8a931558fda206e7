// Latency histograms in microseconds (hdr-histogram-js). Workers record into their own
// and send them encoded; the coordinator decodes and adds them, so percentiles are
// exact over all threads rather than averages of per-thread percentiles.

import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import type { LatencySummary } from './options.ts';

// One minute: beyond any handshake timeout worth setting; longer values are clamped.
const HIGHEST_US = 60_000_000;

export function newHistogram (): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3 });
}

export function recordMs (histogram: Histogram, ms: number): void {
  histogram.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(ms * 1000))));
}

export function encodeHistogram (histogram: Histogram): string {
  return encodeIntoCompressedBase64(histogram);
}

export function addEncoded (into: Histogram, encoded: string): void {
  into.add(decodeFromCompressedBase64(encoded));
}

const round = (us: number): number => Math.round(us) / 1000;

export function summarize (histogram: Histogram): LatencySummary {
  if (histogram.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  return {
    count: histogram.totalCount,
    p50: round(histogram.getValueAtPercentile(50)),
    p90: round(histogram.getValueAtPercentile(90)),
    p99: round(histogram.getValueAtPercentile(99)),
    max: round(histogram.maxValue)
  };
}
