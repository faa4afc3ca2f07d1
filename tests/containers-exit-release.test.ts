/**
 * A container that exits lets go of what its run took from the kernel — netns, veth and address,
 * overlay mount, cgroups, the runtime's state — whichever of conmon's exit command, `ps`, the
 * supervisor or the next command after a crash notices the exit first, and it can be started
 * again (and lets go again). Nothing here waits a fixed time: it polls `ps` until the containers
 * are exited, and from then on nothing of theirs may be left.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { discardRoot, ps, runDetached, type PsRow } from './container-testing.js';
import { busyboxTar, ls, makeSandbox, waitFor, type Sandbox } from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

/** What an exited container still holds on the host; [] when it holds nothing. */
function held(s: Sandbox, id: string): string[] {
  const short = id.slice(0, 12);
  const found: string[] = [];
  const rootfs = path.join(s.root, 'containers', id, 'rootfs');
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    // Field 5 is the mount point (octal escapes for spaces, which a store path here lacks).
    const point = line.split(' ')[4];
    if (point === rootfs) found.push(`overlay mount ${point}`);
  }
  if (fs.existsSync(`/run/netns/skiff-${short}`)) found.push(`netns skiff-${short}`);
  if (fs.existsSync(`/sys/class/net/skv${short}`)) found.push(`veth skv${short}`);
  for (const hierarchy of ls('/sys/fs/cgroup')) {
    if (fs.existsSync(`/sys/fs/cgroup/${hierarchy}/skiff/${id}`))
      found.push(`cgroup ${hierarchy}/skiff/${id}`);
  }
  for (const state of ['/run/crun', '/run/runc'])
    if (fs.existsSync(path.join(state, id))) found.push(`runtime state ${state}/${short}`);
  return found;
}

/** Containers on the default network (each holds an address there while attached). */
async function addressHolders(s: Sandbox): Promise<Map<string, string>> {
  const out = (await s.ok(['network', 'inspect', 'bridge'])).stdout;
  const [info] = JSON.parse(out) as { containers: { id: string; ip: string }[] }[];
  return new Map((info?.containers ?? []).map((c) => [c.id, c.ip]));
}

async function assertReleased(s: Sandbox, ids: string[]): Promise<void> {
  const addresses = await addressHolders(s);
  const left = ids.flatMap((id) => [
    ...held(s, id),
    ...(addresses.has(id) ? [`address ${addresses.get(id)} of ${id.slice(0, 12)}`] : []),
  ]);
  assert.deepEqual(left, [], 'exited containers still hold kernel objects');
}

/** Polls `ps -a` until every container of `ids` is exited (by `done`, when given). */
async function waitExited(
  s: Sandbox,
  ids: string[],
  done: (row: PsRow) => boolean = () => true,
): Promise<Map<string, PsRow>> {
  return waitFor(
    `${ids.length} container(s) to be exited in ps -a`,
    async () => {
      const rows = new Map((await ps(s)).map((r) => [r.id, r]));
      return ids.every((id) => rows.get(id)?.state === 'exited' && done(rows.get(id)!)) ? rows : undefined;
    },
    { timeout: 60_000, interval: 100 },
  );
}

describe(
  'an exited container releases its kernel objects',
  {
    skip: needs('root', 'crun', 'conmon', 'ip', 'nft'),
  },
  () => {
    let s: Sandbox;

    before(async () => {
      s = makeSandbox('skiff-exit-');
      await s.ok(['import', busyboxTar(), 'base:1']);
    });
    after(() => discardRoot(s));

    it('ten short detached runs: once exited, none holds anything; start runs and releases again', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const command = i % 2 === 0 ? ['true'] : ['sh', '-c', `echo run; exit ${i}`];
        ids.push(await runDetached(s, ['--name', `short${i}`, 'base:1', ...command]));
      }
      const rows = await waitExited(s, ids);
      ids.forEach((id, i) => assert.equal(rows.get(id)!.exitCode, i % 2 === 0 ? 0 : i, `short${i}`));
      await assertReleased(s, ids);

      // Started again, it runs (a second line in its log, a new start time) and lets go again.
      const id = ids[1]!;
      const first = rows.get(id)!.started;
      await s.ok(['start', 'short1']);
      await waitExited(s, [id], (r) => r.started !== first);
      assert.equal((await s.ok(['logs', 'short1'])).stdout, 'run\nrun\n');
      await assertReleased(s, ids);
      assert.deepEqual((await s.check()).problems, []);
      await s.ok(['rm', ...ids]);
    });

    it('a container whose conmon died is released by the next command', async () => {
      const id = await runDetached(s, ['--name', 'orphan', 'base:1', 'sleep', '300']);
      const inspect = JSON.parse((await s.ok(['inspect', '--type', 'container', 'orphan'])).stdout) as {
        conmon_pid: number;
      }[];
      const conmon = inspect[0]!.conmon_pid;
      // No exit command runs: conmon is gone before the container exits.
      process.kill(conmon, 'SIGKILL');
      const rows = await waitExited(s, [id]);
      assert.equal(rows.get(id)!.exitCode, 255, 'an exit nobody recorded');
      await assertReleased(s, [id]);
      await s.ok(['rm', 'orphan']);
    });
  },
);
