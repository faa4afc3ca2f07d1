/**
 * Containers end to end through the real CLI on crun (and runc), conmon and overlayfs: exit
 * codes, env/workdir/user, the detached lifecycle (ps, logs, exec, stop with the STOPSIGNAL and
 * then SIGKILL, kill, wait, rm), user networks where containers find each other by name,
 * published ports, volumes, limits, and the isolation a container must not break (checked from
 * inside). What must hold while no CLI is watching is in containers-unattended.test.ts.
 *
 * Bad input must leave nothing behind (issue 3, "Bad input and safety"): no row, no overlay
 * mount, no netns, veth or cgroup, no container dir.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import {
  assertExit,
  assertGone,
  discardRoot,
  hostObjects,
  httpGet,
  inspectContainer,
  mountsUnder,
  ps,
  psRow,
  runDetached,
  strayHostObjects,
  waitForLog,
} from './container-testing.js';
import { busyboxTar, freePort, ls, makeSandbox, oneLineError, waitFor, type Sandbox } from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

/** The IPv4 address of a running container's eth0. */
async function containerIp(s: Sandbox, name: string): Promise<string> {
  const out = (await s.ok(['exec', name, 'ip', '-4', '-o', 'addr', 'show', 'eth0'])).stdout;
  const m = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(out);
  assert.ok(m, `no IPv4 address on eth0 of ${name}: ${out}`);
  return m[1]!;
}

/** The addresses a hosts file gives `host`. */
function hostsAddresses(hosts: string, host: string): string[] {
  return hosts
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.slice(1).includes(host))
    .map((f) => f[0]!);
}

const HTTPD = ['base:1', 'httpd', '-f', '-p', '80', '-h', '/var/www'];

describe('containers', { skip: needs('root', 'crun', 'runc', 'conmon', 'ip', 'nft') }, () => {
  let s: Sandbox;

  before(async () => {
    s = makeSandbox('skiff-ctr-');
    await s.ok(['import', busyboxTar(), 'base:1']);
    await s.ok(['import', '-c', 'STOPSIGNAL SIGUSR1', busyboxTar(), 'base:usr1']);
  });
  after(() => discardRoot(s));

  /** rm -f of `names` when the test ends, so one failure does not spill into the next test. */
  function removeAfter(t: TestContext, ...names: string[]): void {
    t.after(async () => {
      await s.skiff(['rm', '-f', ...names]);
    });
  }

  it('run --rm prints the output and leaves nothing behind', async () => {
    const r = await s.skiff(['run', '--rm', '--name', 'hello', 'base:1', 'echo', 'hello']);
    assertExit(r, 0, 'run echo');
    assert.equal(r.stdout, 'hello\n');
    assert.equal(r.stderr, '');
    assert.equal(await psRow(s, 'hello'), undefined);
  });

  it("exit status: the container's, 127 missing command, 126 not executable, 125 unknown image", async () => {
    const dirs = ls(path.join(s.root, 'containers'));
    const rows = (await ps(s)).length;
    assertExit(await s.skiff(['run', '--rm', 'base:1', 'sh', '-c', 'exit 3']), 3, 'exit 3');
    assertExit(await s.skiff(['run', '--rm', 'base:1', 'true']), 0, 'true');
    const missing = await s.skiff(['run', '--rm', 'base:1', 'no-such-command']);
    assertExit(missing, 127, 'missing command');
    assert.match(oneLineError(missing.stderr), /no-such-command/);
    const notExec = await s.skiff(['run', '--rm', 'base:1', '/etc/passwd']);
    assertExit(notExec, 126, 'non-executable');
    oneLineError(notExec.stderr);
    const unknown = await s.skiff(['run', '--rm', 'nosuch/image:1', 'true']);
    assertExit(unknown, 125, 'unknown image');
    assert.match(oneLineError(unknown.stderr), /nosuch\/image:1/);
    // Docker: --rm removes the container even after a failure.
    assert.equal((await ps(s)).length, rows);
    assert.deepEqual(ls(path.join(s.root, 'containers')), dirs);
  });

  it('-e, --env-file, -w and -u reach the process', async () => {
    const envFile = path.join(s.dir, 'env.list');
    fs.writeFileSync(envFile, '# a comment\nFROM_FILE=yes\n\nSPACED=a b\n');
    const env = await s.ok([
      'run',
      '--rm',
      '-e',
      'A=1',
      '-e',
      'B=two words',
      '--env-file',
      envFile,
      'base:1',
      'env',
    ]);
    const vars = env.stdout.split('\n');
    for (const v of ['A=1', 'B=two words', 'FROM_FILE=yes', 'SPACED=a b', 'HOME=/root']) {
      assert.ok(vars.includes(v), `${v} missing from:\n${env.stdout}`);
    }
    assert.ok(vars.some((v) => v.startsWith('PATH=/')));
    const www = await s.ok(['run', '--rm', '-w', '/var/www', 'base:1', 'cat', 'index.html']);
    assert.equal(www.stdout, 'hello from skiff\n');
    assert.equal((await s.ok(['run', '--rm', '-w', '/made/here', 'base:1', 'pwd'])).stdout, '/made/here\n');
    const numeric = await s.ok(['run', '--rm', '-u', '1234:5678', 'base:1', 'sh', '-c', 'id -u; id -g']);
    assert.equal(numeric.stdout, '1234\n5678\n');
    const named = await s.ok([
      'run',
      '--rm',
      '-u',
      'nobody',
      'base:1',
      'sh',
      '-c',
      'id -un; id -g; echo $HOME',
    ]);
    assert.equal(named.stdout, 'nobody\n65534\n/home\n');
  });

  it('detached: ps, logs (--tail), exec, rm refused while running, stop with SIGKILL after -t, wait, rm', async (t) => {
    removeAfter(t, 'life');
    const script = 'echo one; echo two; echo three; exec sleep 300';
    const id = await runDetached(s, ['--name', 'life', 'base:1', 'sh', '-c', script]);
    const running = await psRow(s, 'life');
    assert.equal(running?.state, 'running');
    assert.equal(running?.id, id);
    assert.equal(running?.image, 'base:1');
    assert.equal(running?.command, `sh -c ${script}`);
    assert.match(
      (await s.ok(['ps'])).stdout,
      new RegExp(`^${id.slice(0, 12)} .*"sh -c echo one; ech…" .* Up .* life$`, 'm'),
    );

    const logs = await waitFor('three log lines', async () => {
      const out = (await s.ok(['logs', 'life'])).stdout;
      return out === 'one\ntwo\nthree\n' ? out : undefined;
    });
    assert.equal(logs, 'one\ntwo\nthree\n');
    assert.equal((await s.ok(['logs', '--tail', '2', 'life'])).stdout, 'two\nthree\n');

    const exec = await s.skiff(['exec', 'life', 'sh', '-c', 'echo in-$HOSTNAME; exit 5']);
    assertExit(exec, 5, 'exec passes its status through');
    assert.equal(exec.stdout, `in-${id.slice(0, 12)}\n`);

    const busy = await s.skiff(['rm', 'life']);
    assert.notEqual(busy.code, 0, 'rm of a running container without -f must fail');
    oneLineError(busy.stderr);
    assert.equal((await psRow(s, 'life'))?.state, 'running', 'a refused rm changes nothing');

    // sleep is PID 1 and so ignores SIGTERM: only the SIGKILL after -t ends it.
    // sleep is PID 1 and ignores SIGTERM: 137 says the SIGKILL came, after the timeout.
    await s.ok(['stop', '-t', '1', 'life']);
    const stopped = await psRow(s, 'life');
    assert.equal(stopped?.state, 'exited');
    assert.equal(stopped?.exitCode, 137);
    assert.match((await s.ok(['ps', '-a'])).stdout, /Exited \(137\) .* life$/m);
    assert.doesNotMatch((await s.ok(['ps'])).stdout, /life/);
    assert.equal((await s.ok(['wait', 'life'])).stdout, '137\n');
    assert.equal((await s.ok(['logs', 'life'])).stdout, 'one\ntwo\nthree\n', 'logs outlive the process');

    await s.ok(['rm', 'life']);
    assert.equal(await psRow(s, 'life'), undefined);
    await assertGone(s, id);
  });

  it('exec of a missing command exits 127, like docker exec and podman exec', async (t) => {
    removeAfter(t, 'ex');
    await runDetached(s, ['--name', 'ex', 'base:1', 'sleep', '300']);
    const r = await s.skiff(['exec', 'ex', 'no-such-command']);
    assertExit(r, 127, 'exec no-such-command');
    assert.match(oneLineError(r.stderr), /no-such-command/);
  });

  it('stop sends SIGTERM by default, else the image STOPSIGNAL or --stop-signal, before any SIGKILL', async (t) => {
    removeAfter(t, 'sig-term', 'sig-usr1', 'sig-hup');
    const trap = (sig: string, code: number) =>
      `trap "echo got-${sig}; exit ${code}" ${sig}; echo ready; sleep 300 & wait`;
    const cases: [string, string[], number][] = [
      ['term', ['base:1', 'sh', '-c', trap('TERM', 0)], 0],
      // base:usr1 says STOPSIGNAL SIGUSR1; TERM would be ignored (PID 1), so a quick 0 proves USR1 came.
      ['usr1', ['base:usr1', 'sh', '-c', trap('USR1', 0)], 0],
      ['hup', ['--stop-signal', 'SIGHUP', 'base:usr1', 'sh', '-c', trap('HUP', 4)], 4],
    ];
    for (const [sig, args, code] of cases) {
      const name = `sig-${sig}`;
      const id = await runDetached(s, ['--name', name, ...args]);
      await waitForLog(s, name, 'ready');
      await s.ok(['stop', '-t', '10', name]);
      // Not 137: the signal was handled, so stop did not have to wait for its SIGKILL.
      assert.equal((await psRow(s, name))?.exitCode, code, `${sig}: exit code`);
      assert.equal((await s.ok(['logs', name])).stdout, `ready\ngot-${sig.toUpperCase()}\n`);
      await s.ok(['rm', name]);
      await assertGone(s, id);
    }
  });

  it('kill (SIGKILL by default, -s SIG), wait prints the status, start again', async (t) => {
    removeAfter(t, 'kr', 'quick');
    const id = await runDetached(s, [
      '--name',
      'kr',
      'base:1',
      'sh',
      '-c',
      'trap "exit 9" TERM; echo ready; sleep 300 & wait',
    ]);
    await waitForLog(s, 'kr', 'ready');
    await s.ok(['kill', '-s', 'TERM', 'kr']);
    assert.equal((await s.ok(['wait', 'kr'])).stdout, '9\n');
    assert.equal((await psRow(s, 'kr'))?.exitCode, 9);
    const notRunning = await s.skiff(['kill', 'kr']);
    assert.notEqual(notRunning.code, 0, 'kill of a stopped container fails');
    oneLineError(notRunning.stderr);

    await s.ok(['start', 'kr']);
    assert.equal((await psRow(s, 'kr'))?.state, 'running');
    await s.ok(['kill', 'kr']);
    assert.equal((await s.ok(['wait', 'kr'])).stdout, '137\n');
    await s.ok(['rm', 'kr']);
    await assertGone(s, id);

    const quick = await runDetached(s, ['--name', 'quick', 'base:1', 'sh', '-c', 'sleep 0.3; exit 7']);
    assert.equal((await s.ok(['wait', 'quick'])).stdout, '7\n');
    await s.ok(['rm', 'quick']);
    await assertGone(s, quick);
  });

  it('start -a: the output here and the exit status, -i the input; a failed start keeps it', async (t) => {
    removeAfter(t, 'sa', 'sa-in', 'sa-bad');
    await s.ok(['create', '--name', 'sa', 'base:1', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    const attached = await s.skiff(['start', '-a', 'sa']);
    assertExit(attached, 3, 'start -a');
    assert.equal(attached.stdout, 'out\n');
    assert.equal(attached.stderr, 'err\n');
    assert.equal((await psRow(s, 'sa'))?.exitCode, 3);
    const two = await s.skiff(['start', '-a', 'sa', 'sa']);
    assertExit(two, 2, 'start -a with two containers');
    assert.match(oneLineError(two.stderr), /-a takes one container/);
    const inputAlone = await s.skiff(['start', '-i', 'sa']);
    assertExit(inputAlone, 2, 'start -i without -a');

    await s.ok(['create', '-i', '--name', 'sa-in', 'base:1', 'cat']);
    const echoed = await s.skiff(['start', '-a', '-i', 'sa-in'], { input: 'typed\n' });
    assertExit(echoed, 0, 'start -a -i');
    assert.equal(echoed.stdout, 'typed\n');

    await s.ok(['create', '--name', 'sa-bad', 'base:1', '/no/such/command']);
    const bad = await s.skiff(['start', '-a', 'sa-bad']);
    assertExit(bad, 127, 'start -a of a missing command');
    assert.ok(await psRow(s, 'sa-bad'), 'a container that could not start is kept, as without -a');
  });

  it('a name in use is refused with 125 and no second row', async (t) => {
    removeAfter(t, 'taken');
    const id = await runDetached(s, ['--name', 'taken', 'base:1', 'sleep', '300']);
    const dirs = ls(path.join(s.root, 'containers'));
    const before = hostObjects();
    for (const verb of [['run', '--rm'], ['run', '-d'], ['create']]) {
      const r = await s.skiff([...verb, '--name', 'taken', 'base:1', 'true']);
      assertExit(r, 125, `${verb.join(' ')} with a taken name`);
      assert.match(oneLineError(r.stderr), /taken/);
    }
    const rows = (await ps(s)).filter((r) => r.name === 'taken');
    assert.deepEqual(
      rows.map((r) => r.id),
      [id],
    );
    assert.deepEqual(ls(path.join(s.root, 'containers')), dirs);
    assert.deepEqual(await strayHostObjects(before), []);
  });

  it('bad flag values: 125, one line, nothing left behind', async () => {
    // Values checked when the container is made, then ones only a start finds out: -d takes
    // another path through create, start and the removal after a failed start.
    const atCreate = [
      ['--memory', 'abc'],
      ['-p', '99999:80'],
      ['-p', '127.0.0.1:80'],
      ['--cpus', 'x'],
      ['--restart', 'bogus'],
      ['--pids-limit', 'many'],
      ['--ulimit', 'nofile=x'],
      ['--stop-signal', 'SIGBOGUS'],
      ['--runtime', 'nope'],
    ];
    const atStart = [
      ['--network', 'no-such-network'],
      ['-u', 'no-such-user'],
      ['-w', 'relative'],
    ];
    const runs = [
      ...[...atCreate, ...atStart].map((f) => ['--rm', ...f]),
      ...[atCreate[0]!, atCreate[1]!, ...atStart].map((f) => ['-d', ...f]),
    ];
    const rows = await ps(s);
    const dirs = ls(path.join(s.root, 'containers'));
    const mounts = mountsUnder(s.root);
    const before = hostObjects();
    for (const flags of runs) {
      const r = await s.skiff(['run', ...flags, 'base:1', 'true']);
      assertExit(r, 125, `run ${flags.join(' ')}`);
      oneLineError(r.stderr);
      assert.equal(r.stdout, '', `run ${flags.join(' ')} printed an ID`);
    }
    assert.deepEqual(await ps(s), rows, 'no row');
    assert.deepEqual(ls(path.join(s.root, 'containers')), dirs, 'no container dir');
    assert.deepEqual(mountsUnder(s.root), mounts, 'no mount');
    assert.deepEqual(await strayHostObjects(before), [], 'no netns, veth or cgroup');
  });

  it('--env-file naming a missing file: 125 and one line', async () => {
    const r = await s.skiff(['run', '--rm', '--env-file', '/no/such/file', 'base:1', 'true']);
    assertExit(r, 125, 'run --env-file /no/such/file');
    assert.match(oneLineError(r.stderr), /\/no\/such\/file/);
  });

  it('user network: containers find each other by name, and names follow a replaced container', async (t) => {
    removeAfter(t, 'db', 'client', 'filler');
    t.after(async () => {
      await s.skiff(['network', 'rm', 'appnet']);
    });
    await s.ok(['network', 'create', 'appnet']);
    const db = await runDetached(s, ['--network', 'appnet', '--name', 'db', 'base:1', 'sleep', '300']);
    const client = await runDetached(s, [
      '--network',
      'appnet',
      '--name',
      'client',
      'base:1',
      'sleep',
      '300',
    ]);
    const ping = await s.skiff(['run', '--rm', '--network', 'appnet', 'base:1', 'ping', '-c1', '-W2', 'db']);
    assertExit(ping, 0, `ping db: ${ping.stdout}`);
    const oldIp = await containerIp(s, 'db');
    assert.ok(ping.stdout.includes(`from ${oldIp}`), ping.stdout);
    const hostsBefore = (await s.ok(['exec', 'client', 'cat', '/etc/hosts'])).stdout;
    assert.deepEqual(hostsAddresses(hostsBefore, 'db'), [oldIp]);

    await s.ok(['rm', '-f', 'db']);
    await assertGone(s, db);
    // A third container first, so the new db cannot simply get the address the old one had.
    const filler = await runDetached(s, [
      '--network',
      'appnet',
      '--name',
      'filler',
      'base:1',
      'sleep',
      '300',
    ]);
    const db2 = await runDetached(s, ['--network', 'appnet', '--name', 'db', 'base:1', 'sleep', '300']);
    const newIp = await containerIp(s, 'db');
    assert.notEqual(newIp, oldIp, 'the new db has another address');
    const hostsAfter = (await s.ok(['exec', 'client', 'cat', '/etc/hosts'])).stdout;
    assert.deepEqual(hostsAddresses(hostsAfter, 'db'), [newIp], `client's /etc/hosts:\n${hostsAfter}`);
    const again = await s.skiff(['exec', 'client', 'ping', '-c1', '-W2', 'db']);
    assertExit(again, 0, `ping the new db from a container that was already running: ${again.stdout}`);
    assert.ok(again.stdout.includes(`from ${newIp}`), again.stdout);

    const inUse = await s.skiff(['network', 'rm', 'appnet']);
    assert.notEqual(inUse.code, 0, 'a network with containers cannot be removed');
    await s.ok(['rm', '-f', 'db', 'client', 'filler']);
    await s.ok(['network', 'rm', 'appnet']);
    for (const id of [db2, client, filler]) await assertGone(s, id);
  });

  it('--network none has only lo; --network host shares the host links', async () => {
    const none = await s.ok(['run', '--rm', '--network', 'none', 'base:1', 'ls', '/sys/class/net']);
    assert.equal(none.stdout, 'lo\n');
    const route = spawnSync('ip', ['route', 'show', 'default'], { encoding: 'utf8' }).stdout;
    const uplink = /\bdev (\S+)/.exec(route)?.[1];
    const host = await s.ok(['run', '--rm', '--network', 'host', 'base:1', 'ls', '/sys/class/net']);
    const links = host.stdout.split('\n').filter(Boolean);
    assert.ok(links.includes('lo'));
    if (uplink) assert.ok(links.includes(uplink), `${uplink} missing from ${links.join(' ')}`);
  });

  it('-p 127.0.0.1:PORT:80 reaches busybox httpd from the host, until the container is removed', async (t) => {
    removeAfter(t, 'web');
    const port = await freePort();
    const id = await runDetached(s, ['--name', 'web', '-p', `127.0.0.1:${port}:80`, ...HTTPD]);
    assert.deepEqual((await psRow(s, 'web'))?.ports, [
      { hostIp: '127.0.0.1', hostPort: port, containerPort: 80, protocol: 'tcp' },
    ]);
    const url = `http://127.0.0.1:${port}/`;
    assert.equal(await waitFor(`GET ${url}`, () => httpGet(url), { timeout: 5_000 }), 'hello from skiff\n');
    const taken = await s.skiff(['run', '--rm', '-p', `127.0.0.1:${port}:80`, 'base:1', 'true']);
    assertExit(taken, 125, 'a host port already published');
    oneLineError(taken.stderr);
    await s.ok(['rm', '-f', 'web']);
    await assertGone(s, id);
    await assert.rejects(httpGet(url), 'the port is released with the container');
  });

  it('volumes: a named volume persists, :ro refuses writes, a bind mount shares a host directory', async (t) => {
    t.after(async () => {
      await s.skiff(['volume', 'rm', '-f', 'data']);
    });
    await s.ok(['volume', 'create', 'data']);
    await s.ok(['run', '--rm', '-v', 'data:/data', 'base:1', 'sh', '-c', 'echo persisted > /data/f']);
    const read = await s.ok(['run', '--rm', '-v', 'data:/data', 'base:1', 'cat', '/data/f']);
    assert.equal(read.stdout, 'persisted\n');
    const script = 'cat /data/f; echo x > /data/g';
    const ro = await s.skiff(['run', '--rm', '-v', 'data:/data:ro', 'base:1', 'sh', '-c', script]);
    assert.notEqual(ro.code, 0, ':ro must refuse the write');
    assert.equal(ro.stdout, 'persisted\n');
    assert.match(ro.stderr, /Read-only file system/);

    const host = fs.mkdtempSync(path.join(s.dir, 'bind-'));
    fs.writeFileSync(path.join(host, 'from-host'), 'host data\n');
    const both = 'cat /src/from-host; echo container data > /src/from-container';
    const bind = await s.ok(['run', '--rm', '-v', `${host}:/src`, 'base:1', 'sh', '-c', both]);
    assert.equal(bind.stdout, 'host data\n');
    assert.equal(fs.readFileSync(path.join(host, 'from-container'), 'utf8'), 'container data\n');
    const bindRo = await s.skiff([
      'run',
      '--rm',
      '-v',
      `${host}:/src:ro`,
      'base:1',
      'sh',
      '-c',
      'echo x > /src/no',
    ]);
    assert.notEqual(bindRo.code, 0);
    assert.equal(fs.existsSync(path.join(host, 'no')), false);
    await s.ok(['volume', 'rm', 'data']);
  });

  it('--read-only refuses writes to the root; --tmpfs still gives a writable directory', async () => {
    const r = await s.skiff(['run', '--rm', '--read-only', 'base:1', 'sh', '-c', 'echo x > /x']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Read-only file system/);
    const script = 'echo ok > /scratch/f && cat /scratch/f';
    const tmpfs = await s.ok([
      'run',
      '--rm',
      '--read-only',
      '--tmpfs',
      '/scratch',
      'base:1',
      'sh',
      '-c',
      script,
    ]);
    assert.equal(tmpfs.stdout, 'ok\n');
  });

  it('limits show in the cgroup files and rlimits from inside', async () => {
    const cg = '/sys/fs/cgroup';
    const script = [
      `cat ${cg}/memory/memory.limit_in_bytes ${cg}/pids/pids.max`,
      `echo $(( $(cat ${cg}/cpu/cpu.cfs_quota_us) * 100 / $(cat ${cg}/cpu/cpu.cfs_period_us) ))`,
      'ulimit -Sn; ulimit -Hn',
    ].join('; ');
    const limits = ['--memory', '64m', '--pids-limit', '50', '--cpus', '0.5', '--ulimit', 'nofile=1024:2048'];
    const r = await s.ok(['run', '--rm', ...limits, 'base:1', 'sh', '-c', script]);
    assert.equal(r.stdout, `${64 * 1024 * 1024}\n50\n50\n1024\n2048\n`);
  });

  it('from inside: no host processes, no mount, no /proc/sys writes, no module loading', async () => {
    const script = [
      'echo procs $(ls /proc | grep -c "^[0-9]")',
      'cat /proc/[0-9]*/comm | sort -u | tr "\\n" " "; echo',
      'mount -t tmpfs x /tmp 2>/dev/null && echo mount-ok || echo mount-refused',
      '(echo evil > /proc/sys/kernel/hostname) 2>/dev/null && echo sysctl-ok || echo sysctl-refused',
      'hostname evil 2>/dev/null && echo sethostname-ok || echo sethostname-refused',
      'echo junk > /tmp/m.ko; insmod /tmp/m.ko 2>&1',
    ].join('; ');
    const r = await s.skiff(['run', '--rm', 'base:1', 'sh', '-c', script]);
    const lines = r.stdout.split('\n');
    const procs = Number(/^procs (\d+)$/.exec(lines[0] ?? '')?.[1]);
    assert.ok(procs > 0 && procs <= 6, `the container sees ${procs} processes:\n${r.stdout}`);
    for (const host of ['node', 'conmon', 'systemd', 'crun', 'sshd']) {
      assert.ok(!lines[1]!.split(' ').includes(host), `host process ${host} visible: ${lines[1]}`);
    }
    assert.equal(lines[2], 'mount-refused');
    assert.equal(lines[3], 'sysctl-refused');
    assert.equal(lines[4], 'sethostname-refused');
    // EPERM, not ENOEXEC: the kernel refused before it even looked at the junk module.
    assert.match(lines[5] ?? '', /insmod: can't insert '\/tmp\/m\.ko': Operation not permitted/);
  });

  it('--runtime runc runs, execs, stops and removes containers too', async (t) => {
    removeAfter(t, 'viarunc');
    const r = await s.skiff(['run', '--rm', '--runtime', 'runc', 'base:1', 'sh', '-c', 'echo runc; exit 4']);
    assertExit(r, 4, 'runc run');
    assert.equal(r.stdout, 'runc\n');
    const id = await runDetached(s, ['--runtime', 'runc', '--name', 'viarunc', 'base:1', 'sleep', '300']);
    assert.match((await inspectContainer(s, 'viarunc')).runtime, /runc$/);
    assert.ok(fs.existsSync(`/run/runc/${id}`), 'runc holds the container');
    assert.equal((await s.ok(['exec', 'viarunc', 'echo', 'in'])).stdout, 'in\n');
    await s.ok(['stop', '-t', '1', 'viarunc']);
    assert.equal((await psRow(s, 'viarunc'))?.exitCode, 137);
    await s.ok(['rm', 'viarunc']);
    await assertGone(s, id);
  });
});
