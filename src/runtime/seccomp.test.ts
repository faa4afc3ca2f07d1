import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { makeBusyboxRootfs, runBundle, tempDir, uniqueId } from './bundle-testing.js';
import { DEFAULT_CAPABILITIES } from './capabilities.js';
import { chooseRuntime } from './oci-runtime.js';
import {
  defaultSeccomp,
  filterProfile,
  kernelAtLeast,
  loadProfile,
  type SeccompProfile,
  type SeccompSection,
} from './seccomp.js';
import { precompileSeccomp, SECCOMP_BPF_ANNOTATION, seccompBpfAnnotation } from './seccomp-cache.js';
import { buildSpec } from './spec.js';
import { needs, unmet } from '../util/test-requirements.js';

const PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 38,
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
  ],
  syscalls: [
    { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', args: [], includes: {}, excludes: {} },
    {
      names: ['personality'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }],
    },
    { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
    { names: ['breakpoint'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm', 'arm64'] } },
    { names: ['bpf'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['bpf'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['both'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'] } },
    { names: ['new_call'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '6.1' } },
    { names: ['old_way'], action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '6.1' } },
    { name: 'single', action: 'SCMP_ACT_ALLOW', excludes: { arches: ['arm64'] } },
  ],
};

const names = (s: SeccompSection) => s.syscalls!.map((r) => `${r.names.join(',')}:${r.action}`);

describe('profile filtering as containers/common setupSeccomp', () => {
  test('amd64, default caps, new kernel', () => {
    const s = filterProfile(PROFILE, DEFAULT_CAPABILITIES, { arch: 'amd64', kernel: '6.18.0-1-amd64' });
    assert.deepEqual(s.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    assert.equal(s.defaultErrnoRet, 38);
    assert.deepEqual(names(s), [
      'read,write:SCMP_ACT_ALLOW',
      'personality:SCMP_ACT_ALLOW',
      'arch_prctl:SCMP_ACT_ALLOW',
      'bpf:SCMP_ACT_ERRNO',
      'new_call:SCMP_ACT_ALLOW',
      'single:SCMP_ACT_ALLOW',
    ]);
    // Go drops a zero valueTwo and empty args (omitempty).
    assert.deepEqual(s.syscalls![1]!.args, [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }]);
    assert.equal('args' in s.syscalls![0]!, false);
    assert.equal(s.syscalls![3]!.errnoRet, 1);
  });
  test('arm64 with CAP_SYS_ADMIN on an old kernel', () => {
    const s = filterProfile(PROFILE, ['CAP_SYS_ADMIN'], { arch: 'arm64', kernel: '5.10.0' });
    assert.deepEqual(s.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    assert.deepEqual(names(s), [
      'read,write:SCMP_ACT_ALLOW',
      'personality:SCMP_ACT_ALLOW',
      'breakpoint:SCMP_ACT_ALLOW',
      'bpf:SCMP_ACT_ALLOW',
      'old_way:SCMP_ACT_ALLOW',
    ]);
    const both = filterProfile(PROFILE, ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'], {
      arch: 'arm64',
      kernel: '5.10.0',
    });
    assert.ok(names(both).includes('both:SCMP_ACT_ALLOW'), 'includes.caps needs every listed cap');
  });
  test('an architecture missing from archMap leaves the choice to libseccomp', () => {
    assert.equal(filterProfile(PROFILE, [], { arch: 'loong64', kernel: '6.1' }).architectures, undefined);
  });
  test('architectures and archMap together are refused', () => {
    assert.throws(
      () =>
        filterProfile({ ...PROFILE, architectures: ['SCMP_ARCH_X86_64'] }, [], {
          arch: 'amd64',
          kernel: '6.1',
        }),
      {
        message: /use one/,
      },
    );
  });
  test('kernel versions', () => {
    assert.ok(kernelAtLeast('6.18.0-1-amd64', '4.8'));
    assert.ok(kernelAtLeast('4.8.0', '4.8'));
    assert.ok(!kernelAtLeast('4.7.99', '4.8'));
    assert.ok(!kernelAtLeast('3.99', '4.0'));
    assert.throws(() => kernelAtLeast('weird', '4.8'), { name: 'InvalidArgument' });
  });
  test('a missing profile file says which package brings it', () => {
    assert.throws(() => loadProfile('/nonexistent/seccomp.json'), {
      name: 'FailedPrecondition',
      code: 'SECCOMP_PROFILE_MISSING',
      message: /golang-github-containers-common/,
    });
  });
});

describe(
  'the Debian profile for the default capabilities',
  { skip: needs('/usr/share/containers/seccomp.json') },
  () => {
    test('19 rule groups: 379 distinct names allowed, 51 refused with EPERM, ENOSYS for the unknown', () => {
      const s = defaultSeccomp([...DEFAULT_CAPABILITIES]);
      assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
      assert.equal(s.defaultErrnoRet, 38);
      assert.equal(s.syscalls!.length, 19);
      const allowed = new Set(
        s.syscalls!.filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names),
      );
      const refused = new Set(
        s.syscalls!.filter((r) => r.action === 'SCMP_ACT_ERRNO').flatMap((r) => r.names),
      );
      assert.equal(allowed.size, 379);
      assert.equal(refused.size, 51);
      for (const n of ['mount', 'unshare', 'clone', 'ptrace', 'pivot_root', 'socket', 'chroot'])
        assert.ok(allowed.has(n), n);
      for (const n of ['bpf', 'perf_event_open', 'kexec_load', 'init_module', 'sethostname', 'userfaultfd'])
        assert.ok(refused.has(n), n);
    });
    test('granting CAP_SYS_ADMIN moves bpf from refused to allowed', () => {
      const s = defaultSeccomp([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']);
      const allowed = s.syscalls!.filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names);
      const refused = s.syscalls!.filter((r) => r.action === 'SCMP_ACT_ERRNO').flatMap((r) => r.names);
      assert.ok(allowed.includes('bpf') && !refused.includes('bpf'));
    });
  },
);

describe('precompiled BPF for crun', { skip: needs('root', 'busybox', 'crun', 'pgrep') }, () => {
  let dir: string;
  let cache: string;
  let rootfs: string;
  let crun: string | undefined;

  before(() => {
    dir = tempDir('seccomp-cache');
    cache = path.join(dir, 'cache');
    rootfs = makeBusyboxRootfs(path.join(dir, 'rootfs'));
    const choice = chooseRuntime();
    crun = choice.name === 'crun' ? choice.path : undefined;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('compiles once, by a throwaway crun create, and serves the cache afterwards', async (t) => {
    if (!crun) return unmet(t, 'crun runs on this host (chooseRuntime chose runc)');
    const section = defaultSeccomp([...DEFAULT_CAPABILITIES]);
    const bpf = await seccompBpfAnnotation(cache, section, { runtimePath: crun });
    const program = Buffer.from(bpf, 'base64');
    assert.ok(program.length > 0 && program.length % 8 === 0, `${program.length} bytes of sock_filter`);
    const files = fs.readdirSync(cache);
    assert.equal(files.length, 1, `only the program is left: ${files.join(' ')}`);
    assert.match(files[0]!, /^[0-9a-f]{64}\.bpf$/);
    // Served from the file: a program planted there comes back unchanged.
    const planted = Buffer.alloc(16, 7);
    fs.writeFileSync(path.join(cache, files[0]!), planted);
    assert.equal(
      await seccompBpfAnnotation(cache, section, { runtimePath: crun }),
      planted.toString('base64'),
    );
    fs.writeFileSync(path.join(cache, files[0]!), program);
    const leftover = spawnSync('pgrep', ['-f', 'skiff-seccomp-'], { encoding: 'utf8' }).stdout.trim();
    assert.equal(leftover, '', 'no throwaway container process is left');
  });

  test('crun loads the annotation instead of compiling linux.seccomp', async (t) => {
    if (!crun) return unmet(t, 'crun runs on this host (chooseRuntime chose runc)');
    // A profile that refuses mkdir, given only as the annotation, beside the default section.
    const denyMkdir: SeccompSection = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    };
    const bpf = await seccompBpfAnnotation(cache, denyMkdir, { runtimePath: crun });
    const run = (annotations: Record<string, string>) => {
      const id = uniqueId();
      const spec = buildSpec({
        id,
        rootfs,
        image: { Cmd: ['sh', '-c', 'mkdir /tmp/d && echo made; grep ^Seccomp: /proc/self/status'] },
        hostname: 'h',
        network: { kind: 'new' },
        cgroupsPath: `/${id}`,
        annotations,
      });
      return runBundle(crun!, path.join(dir, `b-${id.slice(0, 8)}`), id, spec);
    };
    const plain = run({});
    assert.match(plain.stdout, /made/);
    const annotated = run({ [SECCOMP_BPF_ANNOTATION]: bpf });
    assert.doesNotMatch(annotated.stdout, /made/);
    assert.match(annotated.stderr, /Operation not permitted/);
    assert.match(annotated.stdout, /Seccomp:\s+2/);
  });

  test('precompileSeccomp: crun gets the annotation, runc does not, a failure changes nothing', async (t) => {
    if (!crun) return unmet(t, 'crun runs on this host (chooseRuntime chose runc)');
    const spec = () => ({
      linux: { seccomp: defaultSeccomp([...DEFAULT_CAPABILITIES]) },
      annotations: { a: 'b' },
    });
    const withCrun = await precompileSeccomp(spec(), {
      cacheDir: cache,
      runtime: 'crun',
      runtimePath: crun,
    });
    assert.equal(withCrun.annotations.a, 'b');
    assert.ok((withCrun.annotations as Record<string, string>)[SECCOMP_BPF_ANNOTATION]);
    const withRunc = await precompileSeccomp(spec(), { cacheDir: cache, runtime: 'runc' });
    assert.deepEqual(Object.keys(withRunc.annotations), ['a']);
    const errors: unknown[] = [];
    const broken = await precompileSeccomp(
      {
        linux: {
          seccomp: {
            defaultAction: 'SCMP_ACT_ALLOW',
            syscalls: [{ names: ['read'], action: 'SCMP_ACT_LOG' }],
          },
        },
      },
      {
        cacheDir: cache,
        runtime: 'crun',
        runtimePath: '/nonexistent/crun',
        onError: (e) => errors.push(e),
      },
    );
    assert.equal(errors.length, 1);
    assert.deepEqual(Object.keys(broken), ['linux']);
  });
});
