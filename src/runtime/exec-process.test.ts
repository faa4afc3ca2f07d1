import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execProcess, mergeEnv, type OciProcess } from './exec-process.js';

const BASE: OciProcess = {
  terminal: false,
  user: { uid: 0, gid: 0, umask: 0o022 },
  args: ['sleep', '600'],
  env: ['PATH=/bin', 'HOSTNAME=abc', 'FOO=one'],
  cwd: '/srv',
  capabilities: { bounding: ['CAP_CHOWN', 'CAP_KILL'], effective: ['CAP_CHOWN', 'CAP_KILL'] },
  rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
};

const lookups = {
  user: (spec: string) =>
    spec === 'app'
      ? { uid: 1000, gid: 1000, additionalGids: [1000], home: '/home/app' }
      : { uid: Number(spec), gid: 0, additionalGids: [], home: '/' },
  capabilities: () => ['CAP_CHOWN', 'CAP_KILL', 'CAP_SYS_ADMIN'],
};

test('the container’s process with the exec’s command; its cwd, user and limits kept', () => {
  const p = execProcess(BASE, ['echo', 'hi'], {}, lookups);
  assert.deepEqual(p.args, ['echo', 'hi']);
  assert.equal(p.cwd, '/srv');
  assert.deepEqual(p.user, BASE.user);
  assert.deepEqual(p.rlimits, BASE.rlimits);
  assert.equal(p.terminal, false);
  assert.deepEqual(p.env, BASE.env);
});

test('env replaced or added, workdir, user, tty and privileged as docker exec takes them', () => {
  const p = execProcess(
    BASE,
    ['sh'],
    { env: ['FOO=two', 'NEW=x'], workdir: '/tmp/', user: 'app', tty: true },
    lookups,
  );
  assert.deepEqual(p.env, ['PATH=/bin', 'HOSTNAME=abc', 'FOO=two', 'NEW=x', 'TERM=xterm']);
  assert.equal(p.cwd, '/tmp');
  assert.deepEqual(p.user, { uid: 1000, gid: 1000, umask: 0o022, additionalGids: [1000] });
  // Not root: only what was added for the container's user (nothing here).
  assert.deepEqual(p.capabilities.effective, []);
  assert.deepEqual(p.capabilities.bounding, ['CAP_CHOWN', 'CAP_KILL']);
  assert.equal(p.terminal, true);
  const privileged = execProcess(BASE, ['sh'], { privileged: true }, lookups);
  assert.deepEqual(privileged.capabilities.effective, ['CAP_CHOWN', 'CAP_KILL', 'CAP_SYS_ADMIN']);
  assert.throws(() => execProcess(BASE, ['sh'], { workdir: 'rel' }, lookups), /must be an absolute path/);
  assert.throws(() => execProcess(BASE, [], {}, lookups), /no command/);
});

test('mergeEnv: later wins in place, a bare name removes', () => {
  assert.deepEqual(mergeEnv(['A=1', 'B=2', 'C=3'], ['B=20', 'A', 'D=4']), ['B=20', 'C=3', 'D=4']);
  assert.throws(() => mergeEnv([], ['=x']), /empty name/);
});
