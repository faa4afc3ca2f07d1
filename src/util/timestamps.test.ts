import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goDuration, parseTimestamp } from './timestamps.js';

test('Unix seconds, dates, RFC 3339 times and durations back from now', () => {
  const now = Date.parse('2026-01-02T03:04:05Z');
  const rows: [string, bigint][] = [
    ['1700000000', 1_700_000_000_000_000_000n],
    ['1700000000.5', 1_700_000_000_500_000_000n],
    ['2026-01-01T00:00:00Z', BigInt(Date.parse('2026-01-01T00:00:00Z')) * 1_000_000n],
    ['2026-01-02T03:04:05.250+00:00', BigInt(now + 250) * 1_000_000n],
    ['10m', BigInt(now - 600_000) * 1_000_000n],
    ['1h30m', BigInt(now - 5_400_000) * 1_000_000n],
  ];
  for (const [text, want] of rows) assert.equal(parseTimestamp(text, '--since', now), want, text);
  assert.equal(goDuration('1.5s'), 1_500_000_000n);
  assert.equal(goDuration('soon'), undefined);
  assert.throws(() => parseTimestamp('yesterday', '--since'), {
    message: 'invalid value `yesterday` for --since: not a Unix time, a date, an RFC 3339 time or a duration',
  });
});
