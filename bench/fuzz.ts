/**
 * The fuzzer of untrusted input for as long as you like (the CI test runs a fixed seed briefly):
 * mutated tars, manifests, configs and OCI archives, each accepted or refused with a SkiffError,
 * nothing left behind (src/image/fuzz-testing.ts says exactly what is checked).
 *
 *   npm run bench:fuzz -- [--seed N] [--cases M] [--case I]
 *
 * The seed defaults to the time, and is printed first; a failure prints its case number, and
 * `--seed N --case I` runs that case alone. Needs root (layers are applied with their owners and
 * device nodes). Exits 1 when any case failed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { runFuzz, type FuzzKind } from '../src/image/fuzz-testing.js';
import { Store } from '../src/store/store.js';

function flag(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const value = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} needs a non-negative integer`);
  return value;
}

const seed = flag('seed') ?? Date.now() % 2 ** 32;
const only = flag('case');
const cases = flag('cases') ?? 20_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-fuzz-'));
const store = Store.open(path.join(dir, 'store'));
console.log(`fuzz: seed ${seed}, ${only === undefined ? `${cases} cases` : `case ${only}`}, in ${dir}`);
const started = performance.now();
let last = started;
try {
  const report = await runFuzz({
    seed,
    cases,
    only,
    dir,
    store,
    onCase(index: number, kind: FuzzKind, outcome: string) {
      if (outcome === 'failed') console.log(`case ${index} (${kind}) failed`);
      if (performance.now() - last > 5000) {
        last = performance.now();
        console.log(`… ${index + 1} cases in ${((last - started) / 1000).toFixed(0)} s`);
      }
    },
  });
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${report.cases} cases in ${seconds.toFixed(1)} s (${(report.cases / seconds).toFixed(0)}/s): ${report.accepted} accepted, ${report.refused} refused, ${report.failures.length} failed`,
  );
  for (const [kind, n] of Object.entries(report.byKind))
    console.log(`  ${kind.padEnd(8)} ${n.accepted} accepted, ${n.refused} refused`);
  for (const f of report.failures)
    console.log(`FAILED case ${f.index} (${f.kind}; replay: --seed ${seed} --case ${f.index}): ${f.problem}`);
  for (const p of report.storeProblems) console.log(`FAILED store: ${p}`);
  process.exitCode = report.failures.length + report.storeProblems.length > 0 ? 1 : 0;
} finally {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
