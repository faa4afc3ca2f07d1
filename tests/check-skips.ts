/**
 * Reads what tests/skip-reporter.ts wrote and fails when a test was skipped that
 * tests/allowed-skips.txt does not allow. scripts/test.sh runs it after the suite under CI,
 * where every requirement must be met and a skip would hide a missing install step.
 *
 *   node dist/tests/check-skips.js SKIPS-FILE
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface Skip {
  file: string;
  name: string;
  reason: string;
}

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `name  # reason` per line; blank lines and lines starting with # are comments. */
export function allowedSkips(text: string): Map<string, string> {
  const allowed = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const at = line.indexOf('  # ');
    if (at < 0) throw new Error(`tests/allowed-skips.txt: \`${line}\` gives no reason (name  # reason)`);
    allowed.set(line.slice(0, at).trim(), line.slice(at + 4).trim());
  }
  return allowed;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: check-skips.js SKIPS-FILE');
  const allowed = allowedSkips(fs.readFileSync(path.join(repo, 'tests', 'allowed-skips.txt'), 'utf8'));
  const skips = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Skip);
  const refused = skips.filter((s) => !allowed.has(s.name));
  for (const s of skips) {
    const where = path.relative(repo, s.file);
    const verdict = allowed.has(s.name) ? `allowed: ${allowed.get(s.name)}` : 'NOT ALLOWED under CI';
    process.stdout.write(
      `skipped: ${where}: ${s.name} (${s.reason || 'no reason given'}) — ${verdict}` + '\n',
    );
  }
  if (refused.length > 0) {
    process.stdout.write(
      `${refused.length} tests skipped that tests/allowed-skips.txt does not allow` + '\n',
    );
    process.exitCode = 1;
  } else {
    process.stdout.write(`skips: ${skips.length}, all allowed` + '\n');
  }
}
