/**
 * Two steps of `skiff run` measured alone (they used to be timed inside the unit tests):
 * a crun run of `true` with the seccomp profile compiled by crun at start against the BPF
 * skiff precompiled and passed as an annotation; and a network attach + detach on a bridge,
 * with and without a published port. Medians of 15. Not a test: it prints figures.
 *
 *   node dist/bench/runtime-steps.js
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { openDatabase } from '../src/store/database.js';
import { makeBusyboxRootfs, runBundle, uniqueId } from '../src/runtime/bundle-testing.js';
import { DEFAULT_CAPABILITIES } from '../src/runtime/capabilities.js';
import { NetworkManager } from '../src/runtime/network/network-manager.js';
import { parsePublish } from '../src/runtime/network/publish.js';
import { chooseRuntime } from '../src/runtime/oci-runtime.js';
import { defaultSeccomp } from '../src/runtime/seccomp.js';
import { SECCOMP_BPF_ANNOTATION, seccompBpfAnnotation } from '../src/runtime/seccomp-cache.js';
import { buildSpec } from '../src/runtime/spec.js';

const RUNS = 15;

function median(xs: number[]): string {
  return [...xs].sort((a, b) => a - b)[xs.length >> 1]!.toFixed(1);
}

function timed(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-steps-'));
try {
  const choice = chooseRuntime();
  if (choice.name !== 'crun') throw new Error(`crun cannot run here: ${choice.notice}`);
  const rootfs = makeBusyboxRootfs(path.join(dir, 'rootfs'));
  const section = defaultSeccomp([...DEFAULT_CAPABILITIES]);
  const bpf = await seccompBpfAnnotation(path.join(dir, 'cache'), section, { runtimePath: choice.path });
  const crunRun = (annotations: Record<string, string>): number => {
    const id = uniqueId();
    const spec = buildSpec({
      id,
      rootfs,
      image: { Cmd: ['true'] },
      hostname: 'h',
      network: { kind: 'new' },
      cgroupsPath: `/${id}`,
      annotations,
    });
    return timed(() => {
      const r = runBundle(choice.path, path.join(dir, 'timed'), id, spec);
      if (r.status !== 0) throw new Error(`crun run: ${r.stderr}`);
    });
  };
  const compiled = Array.from({ length: RUNS }, () => crunRun({}));
  const precompiled = Array.from({ length: RUNS }, () => crunRun({ [SECCOMP_BPF_ANNOTATION]: bpf }));
  console.log(
    `crun run true (incl. delete): seccomp compiled by crun ${median(compiled)} ms, ` +
      `precompiled by skiff ${median(precompiled)} ms`,
  );

  const db = openDatabase(path.join(dir, 'skiff.db'));
  db.prepare(`INSERT INTO images (id, created, added, config_size) VALUES ('sha256:bench', NULL, ?, 0)`).run(
    new Date().toISOString(),
  );
  const table = `skiff_bench_${process.pid}`;
  const nm = new NetworkManager(db, path.join(dir, 'networks'), {
    table,
    bridgePrefix: `skb${process.pid % 100000}b`,
    pool: '10.198.0.0/16',
  });
  const container = (name: string): string => {
    const id = randomBytes(32).toString('hex');
    db.prepare(
      `INSERT INTO containers (id, name, image_id, image_name, created, spec, runtime, state)
       VALUES (?, ?, 'sha256:bench', 'bench', ?, '{}', 'crun', 'created')`,
    ).run(id, name, new Date().toISOString());
    return id;
  };
  const times = { attach: [] as number[], detach: [] as number[], plain: [] as number[] };
  try {
    for (let i = 0; i < RUNS; i++) {
      const id = container(`bench${i}`);
      times.attach.push(
        timed(() =>
          nm.attach(id, { network: 'bridge', name: `bench${i}`, hostname: 'b', ports: parsePublish('80') }),
        ),
      );
      times.detach.push(timed(() => nm.detach(id)));
      const plain = container(`plain${i}`);
      times.plain.push(
        timed(() => {
          nm.attach(plain, { network: 'bridge', name: `plain${i}`, hostname: 'b' });
          nm.detach(plain);
        }),
      );
    }
  } finally {
    nm.reset();
  }
  console.log(
    `network: attach ${median(times.attach)} ms, detach ${median(times.detach)} ms (one published port); ` +
      `attach + detach without ports ${median(times.plain)} ms`,
  );
  db.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
