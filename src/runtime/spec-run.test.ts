/**
 * buildSpec's config.json run for real by crun and runc on a busybox-static rootfs, checked
 * from inside the container. Needs root, crun/runc and busybox-static; skips (saying so) only
 * where they are absent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { allCapabilities, capabilityMask } from './capabilities.js';
import { makeBusyboxRootfs, runBundle, tempDir, uniqueId, type RunResult } from './bundle-testing.js';
import { chooseRuntime, type RuntimeChoice } from './oci-runtime.js';
import { hostRlimits } from './rlimits.js';
import { buildSpec, type SpecInput } from './spec.js';
import { needs, unmet } from '../util/test-requirements.js';

const why = needs('root', 'busybox', 'crun', 'runc');

/** Prints `@key=value` lines the test reads back; every probe states its own outcome. */
const PROBE = [
  'echo "@id=$(id)"',
  'echo "@pwd=$(pwd)"',
  'echo "@owner=$(stat -c %u:%g .)"',
  'echo "@hostname=$(hostname)"',
  "env | sed 's/^/@env:/'",
  "grep -E '^(CapEff|CapBnd|Seccomp):' /proc/self/status | sed -E 's/:[[:space:]]*/=/; s/^/@/'",
  '(echo x > /proc/sys/kernel/hostname) 2>/dev/null && echo @procsys=ok || echo @procsys=denied',
  'mount -t tmpfs x /mnt 2>/dev/null && echo @mount=ok || echo @mount=denied',
  'echo "@insmod=$(insmod /bin/busybox 2>&1)"',
  'echo "@pids=$(ps -o pid | tail -n +2 | tr -s " \\n" " ")"',
  'touch /rootfile 2>/dev/null && echo @rootwrite=ok || echo @rootwrite=denied',
  'touch /tmp/f 2>/dev/null && echo @tmpwrite=ok || echo @tmpwrite=denied',
  'echo "@memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"',
  'echo "@pidsmax=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)"',
  'echo "@nofile=$(ulimit -n):$(ulimit -Hn)"',
].join('\n');

function facts(r: RunResult): { get(key: string): string | undefined; env: string[] } {
  const map = new Map<string, string>();
  const env: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('@env:')) env.push(line.slice(5));
    else if (line.startsWith('@')) {
      const eq = line.indexOf('=');
      map.set(line.slice(1, eq), line.slice(eq + 1));
    }
  }
  return { get: (k) => map.get(k), env };
}

describe('config.json from buildSpec, run for real', { skip: why }, () => {
  let dir: string;
  let rootfs: string;
  let crun: RuntimeChoice | undefined;
  const ids: string[] = [];

  before(() => {
    dir = tempDir('spec-run');
    rootfs = makeBusyboxRootfs(path.join(dir, 'rootfs'));
    // The real detection, including the hybrid-cgroups fix when this host needs it (docs/host.md).
    const choice = chooseRuntime();
    crun = choice.name === 'crun' ? choice : undefined;
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    // crun/runc remove a container's cgroups on delete; make sure none of ours are left.
    const left = ids.filter(
      (id) => fs.existsSync(`/sys/fs/cgroup/pids/${id}`) || fs.existsSync(`/sys/fs/cgroup/${id}`),
    );
    assert.deepEqual(left, [], 'no cgroup left behind');
  });

  function input(over: Partial<SpecInput>): SpecInput {
    const id = uniqueId();
    ids.push(id);
    return {
      id,
      rootfs,
      image: { Cmd: ['sh', '-c', PROBE] },
      hostname: id.slice(0, 12),
      network: { kind: 'new' },
      cgroupsPath: `/${id}`,
      ...over,
    };
  }

  function run(runtime: string, spec: SpecInput): RunResult {
    return runBundle(runtime, path.join(dir, `bundle-${spec.id.slice(0, 12)}`), spec.id, buildSpec(spec));
  }

  for (const name of ['crun', 'runc'] as const) {
    test(`${name}: default confinement, read-only root, memory, pids and clamped nofile`, (t) => {
      const runtime = name === 'crun' ? crun?.path : chooseRuntime('runc').path;
      if (!runtime) return unmet(t, 'crun runs on this host (chooseRuntime chose runc)');
      const spec = input({
        readOnly: true,
        memory: 64 * 1024 * 1024,
        pidsLimit: 100,
        ulimits: [{ type: 'nofile', soft: 1024, hard: 1048576 }],
      });
      const r = run(runtime, spec);
      assert.equal(r.status, 0, r.stderr);
      const f = facts(r);
      assert.match(f.get('id')!, /^uid=0\(root\) gid=0\(root\)/);
      assert.equal(f.get('pwd'), '/');
      assert.equal(f.get('hostname'), spec.hostname);
      assert.equal(f.get('CapEff'), '00000000a80425fb', 'Docker/Podman default capabilities');
      assert.equal(f.get('Seccomp'), '2', 'seccomp filter mode');
      assert.equal(f.get('procsys'), 'denied', '/proc/sys is read-only');
      assert.equal(f.get('mount'), 'denied', 'no CAP_SYS_ADMIN');
      assert.match(f.get('insmod')!, /not permitted/i, 'cannot load modules');
      const pids = f.get('pids')!.trim().split(' ').map(Number);
      assert.ok(pids.includes(1) && pids.every((p) => p < 100), `only its own processes: ${f.get('pids')}`);
      assert.equal(f.get('rootwrite'), 'denied', '--read-only root');
      assert.equal(f.get('tmpwrite'), 'ok', '/tmp stays writable scratch');
      assert.equal(f.get('memory'), String(64 * 1024 * 1024));
      assert.equal(f.get('pidsmax'), '100');
      const hard = Math.min(1048576, hostRlimits().get('nofile')!.hard);
      assert.equal(f.get('nofile'), `1024:${hard}`, 'hard nofile clamped to the caller’s');
      assert.ok(f.env.includes(`HOSTNAME=${spec.hostname}`) && f.env.includes('HOME=/root'));
    });
  }

  test('crun: -u app, -w created for the user, env precedence, --cap-drop ALL --cap-add NET_BIND_SERVICE', (t) => {
    if (!crun) return unmet(t, 'crun runs on this host (chooseRuntime chose runc)');
    const spec = input({
      image: {
        Cmd: ['sh', '-c', PROBE],
        Env: ['PATH=/bin:/usr/bin', 'IMG=image', 'OVER=image'],
        WorkingDir: '/ignored',
      },
      user: 'app',
      workdir: '/srv/work',
      env: ['OVER=flag', 'FROM_HOST', 'EMPTY='],
      capDrop: ['ALL'],
      capAdd: ['net_bind_service'],
    });
    const built = buildSpec(spec, { environ: { FROM_HOST: 'host-value' } });
    const r = runBundle(crun.path, path.join(dir, 'bundle-user'), spec.id, built);
    assert.equal(r.status, 0, r.stderr);
    const f = facts(r);
    assert.equal(
      f.get('id'),
      'uid=1000(app) gid=1000(app) groups=10(wheel),29(audio),1000(app)',
      'passwd group, /etc/group memberships',
    );
    assert.equal(f.get('pwd'), '/srv/work');
    assert.equal(f.get('owner'), '1000:1000', 'a created workdir belongs to the user (Podman)');
    assert.equal(f.get('CapEff'), capabilityMask(['CAP_NET_BIND_SERVICE']));
    assert.equal(f.get('CapBnd'), capabilityMask(['CAP_NET_BIND_SERVICE']));
    for (const v of [
      'PATH=/bin:/usr/bin',
      'IMG=image',
      'OVER=flag',
      'FROM_HOST=host-value',
      'EMPTY=',
      'HOME=/home/app',
    ]) {
      assert.ok(f.env.includes(v), `${v} in ${f.env.join(' ')}`);
    }
    const nofile = hostRlimits().get('nofile')!.hard;
    assert.equal(
      f.get('nofile'),
      `${Math.min(nofile, 1048576)}:${Math.min(nofile, 1048576)}`,
      'Podman default, clamped',
    );
  });

  test('crun: --privileged has every capability, no seccomp, and may mount', (t) => {
    if (!crun) return unmet(t, 'crun runs on this host (chooseRuntime chose runc)');
    const r = run(crun.path, input({ privileged: true }));
    assert.equal(r.status, 0, r.stderr);
    const f = facts(r);
    assert.equal(f.get('CapEff'), capabilityMask(allCapabilities()));
    assert.equal(f.get('Seccomp'), '0');
    assert.equal(f.get('mount'), 'ok');
  });

  test('the rlimit trap is real: an unclamped hard nofile above the caller’s fails', (t) => {
    if (!crun) return unmet(t, 'crun runs on this host (chooseRuntime chose runc)');
    const hard = hostRlimits().get('nofile')!.hard;
    if (hard >= 1048576) return t.skip(`this host allows nofile ${hard}; nothing to clamp`);
    const spec = input({ image: { Cmd: ['true'] } });
    const built = buildSpec(spec);
    built.process.rlimits = [{ type: 'RLIMIT_NOFILE', hard: 1048576, soft: 1048576 }];
    const r = runBundle(crun.path, path.join(dir, 'bundle-unclamped'), spec.id, built);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /setrlimit/i);
  });
});
