/**
 * What must hold while no CLI is watching (issue 3: conmon holds the container "so the `skiff`
 * process can exit while the container runs"; `ps` is correct after a crash): conmon's exit
 * command (`skiff container cleanup`) removes --rm containers, applies restart policies and must
 * leave a restarted run alone; kill -9 of `skiff run` mid-run or mid-start leaves a row that is
 * true to the process, can be started, and `rm -f` cleans up; and two roots on one host share
 * the `inet skiff` nftables table without breaking each other; after a reboot, `system boot`
 * brings back what its restart policy wants running.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it, type TestContext } from 'node:test';
import {
  assertExit,
  assertGone,
  discardRoot,
  httpGet,
  inspectContainer,
  mountsUnder,
  psRow,
  runDetached,
} from './container-testing.js';
import { busyboxTar, freePort, ls, makeSandbox, SKIFF_BIN, start, waitFor, type Sandbox } from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

const HTTPD = ['base:1', 'httpd', '-f', '-p', '80', '-h', '/var/www'];

describe('containers with no CLI watching', { skip: needs('root', 'crun', 'conmon', 'ip', 'nft') }, () => {
  let s: Sandbox;

  before(async () => {
    s = makeSandbox('skiff-ctr-bg-');
    await s.ok(['import', busyboxTar(), 'base:1']);
  });
  after(() => discardRoot(s));

  /** rm -f of `names` when the test ends, so one failure does not spill into the next test. */
  function removeAfter(t: TestContext, ...names: string[]): void {
    t.after(async () => {
      await s.skiff(['rm', '-f', ...names]);
    });
  }

  it('restart: the container is up again and stays up', async (t) => {
    removeAfter(t, 'rs');
    const id = await runDetached(s, ['--name', 'rs', 'base:1', 'sleep', '300']);
    // The replaced run's conmon runs `skiff container cleanup` when it exits, a moment after the
    // restart returned; that must not touch the new run. A few rounds, as it is a race.
    for (let round = 1; round <= 3; round++) {
      const before = (await psRow(s, 'rs'))!;
      await s.ok(['restart', '-t', '0', 'rs']);
      const again = (await psRow(s, 'rs'))!;
      assert.equal(again.state, 'running');
      assert.equal(again.id, id, 'restart keeps the container');
      assert.notEqual(again.started, before.started, 'restart starts it anew');
      await sleep(1_500);
      const later = await psRow(s, 'rs');
      assert.equal(later?.state, 'running', `round ${round}, 1.5 s after restart: ${JSON.stringify(later)}`);
      assert.equal((await s.ok(['exec', 'rs', 'echo', 'alive'])).stdout, 'alive\n');
    }
    await s.ok(['rm', '-f', 'rs']);
    await assertGone(s, id);
  });

  it('a detached --rm container is removed after it exits', async (t) => {
    removeAfter(t, 'ephemeral');
    const id = await runDetached(s, [
      '--rm',
      '--name',
      'ephemeral',
      'base:1',
      'sh',
      '-c',
      'sleep 0.3; exit 2',
    ]);
    await waitFor('the --rm container to be removed', async () =>
      (await psRow(s, 'ephemeral')) === undefined ? true : undefined,
    );
    await assertGone(s, id);
  });

  it('--restart on-failure:2 restarts twice, then stays exited', async (t) => {
    removeAfter(t, 'flaky');
    const id = await runDetached(s, [
      '--restart',
      'on-failure:2',
      '--name',
      'flaky',
      'base:1',
      'sh',
      '-c',
      'exit 1',
    ]);
    const done = await waitFor(
      'two restarts and a final exit',
      async () => {
        const i = await inspectContainer(s, 'flaky');
        return i.state === 'exited' && i.restart_count === 2 ? i : undefined;
      },
      { timeout: 15_000 },
    );
    assert.equal(done.exit_code, 1);
    await sleep(1_000);
    const later = await inspectContainer(s, 'flaky');
    assert.equal(later.restart_count, 2, 'no third restart');
    assert.equal(later.state, 'exited');
    await s.ok(['rm', 'flaky']);
    await assertGone(s, id);
  });

  it('kill -9 of an attached `skiff run`: ps -a stays true to the process, rm -f cleans up', async (t) => {
    removeAfter(t, 'orphan');
    const run = ['--root', s.root, 'run', '--name', 'orphan', 'base:1', 'sleep', '300'];
    const { child, done } = start(process.execPath, ['--', SKIFF_BIN, ...run]);
    const row = await waitFor('the container to run', async () => {
      const r = await psRow(s, 'orphan');
      return r?.state === 'running' ? r : undefined;
    });
    child.kill('SIGKILL');
    assert.equal((await done).signal, 'SIGKILL');
    const now = await psRow(s, 'orphan');
    const i = await inspectContainer(s, 'orphan');
    // conmon holds the container, so it keeps running; ps may say so only while it truly does.
    if (now?.state === 'running') {
      assert.ok(i.pid !== null && fs.existsSync(`/proc/${i.pid}`), `ps says running, pid ${i.pid} is gone`);
      assert.equal((await s.ok(['exec', 'orphan', 'echo', 'alive'])).stdout, 'alive\n');
    } else {
      assert.equal(now?.state, 'exited');
    }
    await s.ok(['rm', '-f', 'orphan']);
    assert.equal(await psRow(s, 'orphan'), undefined);
    await assertGone(s, row.id);
  });

  it('kill -9 of `skiff run` during `crun create`: the row it leaves can be started, rm -f cleans up', async (t) => {
    // A root of its own, so the only container dir is this run's.
    const k = makeSandbox('skiff-ctr-kill-');
    t.after(() => discardRoot(k));
    await k.ok(['import', busyboxTar(), 'base:1']);
    const run = ['--root', k.root, 'run', '--name', 'half', 'base:1', 'sleep', '300'];
    const { child, done } = start(process.execPath, ['--', SKIFF_BIN, ...run]);
    let exited = false;
    void done.then(() => (exited = true));
    const dirs = path.join(k.root, 'containers');
    // crun makes its state dir early in `create`, which conmon runs: kill skiff before `start`.
    while (!exited && !ls(dirs).some((id) => fs.existsSync(`/run/crun/${id}`))) await sleep(1);
    child.kill('SIGKILL');
    assert.equal((await done).signal, 'SIGKILL', 'the run finished before the kill');
    await sleep(500);
    const row = await psRow(k, 'half');
    assert.ok(row, 'the container keeps its row');
    try {
      assert.ok(['created', 'running', 'exited'].includes(row.state), row.state);
      if (row.state !== 'running') {
        assertExit(
          await k.skiff(['start', 'half']),
          0,
          `start of the container a killed run left ${row.state}`,
        );
      }
      assert.equal((await psRow(k, 'half'))?.state, 'running');
      assert.equal((await k.ok(['exec', 'half', 'echo', 'alive'])).stdout, 'alive\n');
    } finally {
      await k.ok(['rm', '-f', 'half']);
      assert.equal(await psRow(k, 'half'), undefined);
      await assertGone(k, row.id);
    }
  });

  it("another root's first container does not break this root's published ports", async (t) => {
    // Two fresh roots, so each makes its own bridge (and writes the `inet skiff` rules) here.
    const a = makeSandbox('skiff-ctr-a-');
    const b = makeSandbox('skiff-ctr-b-');
    t.after(() => discardRoot(a));
    t.after(() => discardRoot(b));
    await a.ok(['import', busyboxTar(), 'base:1']);
    await b.ok(['import', busyboxTar(), 'base:1']);
    const port = await freePort();
    await a.ok(['run', '-d', '--name', 'web', '-p', `127.0.0.1:${port}:80`, ...HTTPD]);
    const url = `http://127.0.0.1:${port}/`;
    assert.equal(await waitFor(`GET ${url}`, () => httpGet(url), { timeout: 5_000 }), 'hello from skiff\n');
    assertExit(await b.skiff(['run', '--rm', 'base:1', 'true']), 0, 'the other root runs a container');
    const body = await httpGet(url).catch((err: Error) => `failed: ${err.message}`);
    assert.equal(body, 'hello from skiff\n', `GET ${url} after another root made its bridge`);
  });

  it('after a reboot, `system boot` starts always and unless-stopped containers, on their networks', async (t) => {
    const r = makeSandbox('skiff-ctr-boot-');
    t.after(() => discardRoot(r));
    await r.ok(['import', busyboxTar(), 'base:1']);
    await r.ok(['network', 'create', 'bootnet']);
    const port = await freePort();
    await r.ok([
      'run',
      '-d',
      '--restart',
      'always',
      '--name',
      'web',
      '--network',
      'bootnet',
      '-p',
      `127.0.0.1:${port}:80`,
      ...HTTPD,
    ]);
    await r.ok([
      'run',
      '-d',
      '--restart',
      'unless-stopped',
      '--name',
      'kept',
      '--network',
      'bootnet',
      'base:1',
      'sleep',
      '300',
    ]);
    await r.ok(['run', '-d', '--restart', 'unless-stopped', '--name', 'halted', 'base:1', 'sleep', '300']);
    await r.ok(['stop', '-t', '0', 'halted']);
    await r.ok(['run', '-d', '--name', 'plain', 'base:1', 'sleep', '300']);
    await r.ok(['create', '--restart', 'always', '--name', 'never', 'base:1', 'sleep', '300']);

    simulateReboot(r.root);
    for (const name of ['web', 'kept', 'plain']) {
      assert.equal((await psRow(r, name))?.state, 'exited', `${name} after the reboot`);
    }
    assert.deepEqual(mountsUnder(r.root), [], 'the reboot took the mounts');

    const booted = await r.ok(['system', 'boot']);
    assert.match(booted.stdout, /started web /);
    assert.match(booted.stdout, /started kept /);
    const states = Object.fromEntries(
      await Promise.all(
        ['web', 'kept', 'halted', 'plain', 'never'].map(async (n) => [n, (await psRow(r, n))?.state]),
      ),
    );
    assert.deepEqual(states, {
      web: 'running',
      kept: 'running',
      halted: 'exited',
      plain: 'exited',
      never: 'created',
    });
    const url = `http://127.0.0.1:${port}/`;
    assert.equal(await waitFor(`GET ${url}`, () => httpGet(url), { timeout: 5_000 }), 'hello from skiff\n');
    assert.equal(
      (await r.ok(['exec', 'kept', 'wget', '-q', '-O-', 'http://web/'])).stdout,
      'hello from skiff\n',
    );
    // A second boot finds them running and starts nothing.
    assert.equal((await r.ok(['system', 'boot'])).stdout, '');
  });
});

/**
 * What a reboot takes from a root: every process (conmon first, so no exit command runs), the
 * runtime's state in /run, mounts, network namespaces, the root's bridges and nftables table.
 * The files under the root stay, as they would on disk.
 */
function simulateReboot(root: string): void {
  const containers = ls(path.join(root, 'containers'));
  const mine = (needle: string) =>
    ls('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle);
        } catch {
          return false;
        }
      })
      .map(Number);
  for (const id of containers) for (const pid of mine(`${root}/containers/${id}`)) kill(pid);
  for (const pid of mine(`${root}\0container\0supervise`)) kill(pid);
  for (const id of containers) {
    const pidFile = path.join(root, 'containers', id, 'pidfile');
    if (fs.existsSync(pidFile)) kill(Number(fs.readFileSync(pidFile, 'utf8').trim()));
    spawnSync('crun', ['delete', '--force', id]);
    spawnSync('ip', ['netns', 'delete', `skiff-${id.slice(0, 12)}`]);
  }
  for (const m of mountsUnder(root).reverse()) spawnSync('umount', ['-l', m]);
  const hash = createHash('sha256').update(root).digest('hex');
  for (const link of ls('/sys/class/net').filter((n) => n.startsWith(`sk${hash.slice(0, 5)}`))) {
    spawnSync('ip', ['link', 'delete', link]);
  }
  spawnSync('nft', ['delete', 'table', 'inet', `skiff_${hash.slice(0, 12)}`]);
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}
