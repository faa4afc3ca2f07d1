/**
 * More of the Docker Engine API through the real docker CLI over `skiff system service`:
 * `docker cp` both ways (running and stopped containers, the archive endpoints' path stat),
 * hostile tars put through raw HTTP, `pause`/`unpause`, `network connect`/`disconnect` with
 * names resolving on the new network, the four prunes and `system df`. Every container is a
 * real crun/conmon container; every check is what a docker user would see, or the file system.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildTar } from '../src/archive/layer-testing.js';
import { needs } from '../src/util/test-requirements.js';
import { mountsUnder } from './container-testing.js';
import { busyboxTar, run, tableRows, waitFor, walkTree, type RunResult } from './helpers.js';
import { apiRequest, startService, type ServiceSandbox } from './service-testing.js';

/** The decoded `X-Docker-Container-Path-Stat` header of an archive answer. */
function pathStat(headers: Record<string, unknown>): {
  name: string;
  size: number;
  mode: number;
  linkTarget: string;
} {
  const header = headers['x-docker-container-path-stat'];
  assert.equal(typeof header, 'string', 'the path stat header is there');
  return JSON.parse(Buffer.from(header as string, 'base64').toString('utf8')) as {
    name: string;
    size: number;
    mode: number;
    linkTarget: string;
  };
}

const GO_DIR = 2 ** 31;
const GO_SYMLINK = 2 ** 27;

describe(
  'docker cp, pause, network connect, prune and system df over skiff system service',
  { skip: needs('root', 'crun', 'conmon', 'ip', 'nft', 'docker') },
  () => {
    let svc: ServiceSandbox;
    let work: string;
    const docker = (args: string[]): Promise<RunResult> =>
      run('docker', args, { env: svc.env, timeout: 60_000, cwd: work });
    const ok = async (args: string[]): Promise<string> => {
      const r = await docker(args);
      assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const rootfsMounts = (id: string) => mountsUnder(svc.s.root).filter((m) => m.includes(id));
    const idOf = async (name: string) => (await ok(['inspect', '-f', '{{.Id}}', name])).trim();

    before(async () => {
      svc = await startService('skiff-dockerapi-more-');
      work = path.join(svc.s.dir, 'work');
      fs.mkdirSync(work);
    });

    after(async () => {
      await svc.close();
    });

    it('cp out of a running container gives /etc/hosts as the container sees it', async () => {
      await ok(['run', '-d', '--name', 'cpsrc', 'busybox', 'sh', '-c', 'cat /etc/hosts; sleep 300']);
      const seen = await waitFor('the container to print its hosts file', async () => {
        const logs = await ok(['logs', 'cpsrc']);
        return logs.includes('cpsrc') ? logs : undefined;
      });
      await ok(['cp', 'cpsrc:/etc/hosts', './hosts-copy']);
      assert.equal(fs.readFileSync(path.join(work, 'hosts-copy'), 'utf8'), seen);
      // The path stat the CLI decides with: a file, and a directory by Go's mode bit.
      const head = await apiRequest(svc.socket, 'HEAD', '/v1.41/containers/cpsrc/archive?path=/etc/hosts');
      assert.equal(head.status, 200);
      const file = pathStat(head.headers);
      assert.equal(file.name, 'hosts');
      assert.equal(file.size, Buffer.byteLength(seen));
      assert.ok(file.mode < GO_DIR, `a file has no directory bit: ${file.mode}`);
      const dir = pathStat(
        (await apiRequest(svc.socket, 'HEAD', '/containers/cpsrc/archive?path=/etc')).headers,
      );
      assert.ok(dir.mode >= GO_DIR, `a directory has Go's ModeDir: ${dir.mode}`);
      // The container keeps running, and is not left paused by the copy.
      assert.equal(await ok(['inspect', '-f', '{{.State.Status}}', 'cpsrc']), 'running\n');
    });

    it('cp a directory into a created container: it sees it when it starts, and cp back gives the same tree', async () => {
      const src = path.join(work, 'dir');
      fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
      fs.writeFileSync(path.join(src, 'sub', 'greeting'), 'hello from the host\n');
      fs.chmodSync(path.join(src, 'sub', 'greeting'), 0o640);
      fs.symlinkSync('sub/greeting', path.join(src, 'link'));
      // Without -a, docker cp makes what it copies in root's, whoever owned it on the host.
      const owned = path.join(work, 'owned');
      fs.writeFileSync(owned, 'mine\n');
      fs.chownSync(owned, 4321, 4321);
      await ok(['create', '--name', 'cpdst', 'busybox', 'cat', '/tmp/dir/link']);
      const id = await idOf('cpdst');
      await ok(['cp', './dir', 'cpdst:/tmp/']);
      // The rootfs mounted for the copy is gone again.
      assert.deepEqual(rootfsMounts(id), []);
      const started = await docker(['start', '-a', 'cpdst']);
      assert.equal(started.code, 0, started.stderr);
      assert.equal(started.stdout, 'hello from the host\n');
      await ok(['cp', 'cpdst:/tmp/dir', './back']);
      assert.deepEqual(walkTree(path.join(work, 'back')), walkTree(src));
      await ok(['cp', './owned', 'cpdst:/tmp/owned']);
      await ok(['cp', 'cpdst:/tmp/owned', './owned-back']);
      const back = fs.statSync(path.join(work, 'owned-back'));
      assert.deepEqual([back.uid, back.gid], [0, 0]);
      assert.equal(fs.readFileSync(path.join(work, 'owned-back'), 'utf8'), 'mine\n');
      // A symlink in the path stat: its mode bit, and where it leads inside the container.
      const link = pathStat(
        (await apiRequest(svc.socket, 'HEAD', '/containers/cpdst/archive?path=/tmp/dir/link')).headers,
      );
      assert.ok(link.mode >= GO_SYMLINK && link.mode < GO_DIR, `symlink mode ${link.mode}`);
      assert.equal(link.linkTarget, '/tmp/dir/sub/greeting');
    });

    it('cp of a missing path fails with Docker’s message and a 404', async () => {
      const r = await docker(['cp', 'cpsrc:/no/such/file', './nothing']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Could not find the file \/no\/such\/file in container cpsrc/);
      assert.equal(fs.existsSync(path.join(work, 'nothing')), false);
      const head = await apiRequest(svc.socket, 'HEAD', '/containers/cpsrc/archive?path=/no/such/file');
      assert.equal(head.status, 404);
    });

    it('a tar with ../ entries or a link as a parent is refused and writes nothing anywhere', async () => {
      await ok(['create', '--name', 'cpevil', 'busybox', 'true']);
      const id = await idOf('cpevil');
      const outside = path.join(svc.s.dir, 'escaped');
      const ups = '../'.repeat(40);
      const cases = [
        await buildTar([
          { entry: { name: 'ok.txt' }, data: Buffer.from('fine\n') },
          { entry: { name: `${ups}${outside.slice(1)}` }, data: Buffer.from('bad\n') },
        ]),
        await buildTar([
          { entry: { name: 'ok.txt' }, data: Buffer.from('fine\n') },
          { entry: { name: 'esc', type: 'symlink', linkname: svc.s.dir } },
          { entry: { name: 'esc/escaped' }, data: Buffer.from('bad\n') },
        ]),
      ];
      for (const tar of cases) {
        const put = await apiRequest(svc.socket, 'PUT', '/v1.41/containers/cpevil/archive?path=/tmp', tar, {
          'Content-Type': 'text/plain',
        });
        assert.equal(put.status, 400, put.body);
        assert.match((JSON.parse(put.body) as { message: string }).message, /escapes|is a symlink/);
      }
      assert.equal(fs.existsSync(outside), false, 'nothing was written outside the container');
      // Nothing half-done inside either: not even the entry before the bad one.
      const tmp = await docker(['cp', 'cpevil:/tmp/ok.txt', './ok.txt']);
      assert.match(tmp.stderr, /Could not find the file/);
      assert.deepEqual(rootfsMounts(id), []);
    });

    it('cp into a running container reaches its volume, and never replaces a mount', async () => {
      await ok(['run', '-d', '--name', 'vc', '-v', 'cpvol:/data', 'busybox', 'sleep', '300']);
      const tree = path.join(work, 'vtree');
      fs.mkdirSync(path.join(tree, 'data', 'sub'), { recursive: true });
      fs.writeFileSync(path.join(tree, 'data', 'sub', 'file'), 'in the volume\n');
      await ok(['cp', './vtree/.', 'vc:/']);
      // Another container with the same volume sees the file: it went into the volume, not under it.
      const other = await docker(['run', '--rm', '-v', 'cpvol:/v', 'busybox', 'cat', '/v/sub/file']);
      assert.equal(other.code, 0, other.stderr);
      assert.equal(other.stdout, 'in the volume\n');

      fs.writeFileSync(path.join(work, 'hosts'), '0.0.0.0 nowhere\n');
      const onto = await docker(['cp', './hosts', 'vc:/etc/hosts']);
      assert.notEqual(onto.code, 0);
      assert.match(onto.stderr, /`\/etc\/hosts` is or holds a mount point/);
      await ok(['cp', 'vc:/etc/hosts', './hosts-after']);
      assert.match(fs.readFileSync(path.join(work, 'hosts-after'), 'utf8'), /\t[0-9a-f]{12} vc\n/);
      await ok(['rm', '-f', 'vc']);
      await ok(['volume', 'rm', 'cpvol']);
    });

    it('pause freezes a container: ps and inspect show it, unpause resumes it', async () => {
      await ok(['run', '-d', '--name', 'pz', 'busybox', 'sleep', '300']);
      const id = await idOf('pz');
      assert.equal(await ok(['pause', 'pz']), 'pz\n');
      assert.match(await ok(['ps', '--filter', 'name=pz']), /Up .* \(Paused\)\s+pz/);
      assert.equal(await ok(['ps', '-q', '--no-trunc', '--filter', 'status=paused']), `${id}\n`);
      assert.equal(
        await ok(['inspect', '-f', '{{.State.Status}} {{.State.Paused}} {{.State.Running}}', 'pz']),
        'paused true true\n',
      );
      // The kernel's word: the freezer holds its cgroup (v1 freezer or v2 cgroup.freeze).
      const v1 = `/sys/fs/cgroup/freezer/skiff/${id}/freezer.state`;
      const v2 = `/sys/fs/cgroup/skiff/${id}/cgroup.freeze`;
      if (fs.existsSync(v1)) assert.equal(fs.readFileSync(v1, 'utf8').trim(), 'FROZEN');
      else assert.equal(fs.readFileSync(v2, 'utf8').trim(), '1');
      const again = await docker(['pause', 'pz']);
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /already paused/);
      assert.equal(await ok(['unpause', 'pz']), 'pz\n');
      assert.equal(
        await ok(['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', 'pz']),
        'running false\n',
      );
      assert.doesNotMatch(await ok(['ps', '--filter', 'name=pz']), /Paused/);
      // A paused container still goes with rm -f.
      await ok(['pause', 'pz']);
      await ok(['rm', '-f', 'pz']);
      assert.equal((await docker(['inspect', 'pz'])).code, 1);
    });

    it('network connect: a container on the network reaches it by name and alias; disconnect takes it off', async () => {
      // Subnets of their own, outside the pool other stores on this host pick from at the same time.
      await ok(['network', 'create', '--subnet', '10.231.71.0/24', 'cn']);
      await ok(['run', '-d', '--name', 'nc1', 'busybox', 'sleep', '300']);
      await ok(['network', 'connect', '--alias', 'svc', 'cn', 'nc1']);
      const reach = await docker([
        'run',
        '--rm',
        '--network',
        'cn',
        'busybox',
        'sh',
        '-c',
        'ping -c1 -W5 nc1 && ping -c1 -W5 svc',
      ]);
      assert.equal(reach.code, 0, reach.stdout + reach.stderr);
      const networks = JSON.parse(
        await ok(['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'nc1']),
      ) as Record<string, { Aliases: string[] }>;
      assert.ok(networks['cn']?.Aliases.includes('svc'), JSON.stringify(networks));
      assert.match(
        await ok(['network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{end}}', 'cn']),
        /nc1/,
      );

      await ok(['network', 'disconnect', 'cn', 'nc1']);
      const gone = await docker(['run', '--rm', '--network', 'cn', 'busybox', 'ping', '-c1', '-W2', 'nc1']);
      assert.notEqual(gone.code, 0);
      assert.match(gone.stderr + gone.stdout, /bad address 'nc1'/);
      assert.equal(await ok(['network', 'inspect', '-f', '{{len .Containers}}', 'cn']), '0\n');
      // nc1 itself kept its first network: still running, still on bridge.
      assert.equal(await ok(['inspect', '-f', '{{.State.Running}}', 'nc1']), 'true\n');

      // A created container records the network and joins it when it starts.
      await ok(['create', '--name', 'nc2', 'busybox', 'sleep', '300']);
      await ok(['network', 'connect', 'cn', 'nc2']);
      await ok(['start', 'nc2']);
      const later = await docker(['run', '--rm', '--network', 'cn', 'busybox', 'ping', '-c1', '-W5', 'nc2']);
      assert.equal(later.code, 0, later.stdout + later.stderr);
      await ok(['rm', '-f', 'nc1', 'nc2']);
    });

    it('skiff’s own verbs: cp both ways, pause and unpause, network connect and disconnect, system df', async () => {
      const s = svc.s;
      await s.ok(['run', '-d', '--name', 'own', 'busybox', 'sleep', '300']);
      fs.writeFileSync(path.join(work, 'note'), 'a note\n');
      await s.ok(['cp', path.join(work, 'note'), 'own:/tmp/']);
      await s.ok(['cp', 'own:/tmp/note', path.join(work, 'note-back')]);
      assert.equal(fs.readFileSync(path.join(work, 'note-back'), 'utf8'), 'a note\n');
      const missing = await s.skiff(['cp', 'own:/nope', path.join(work, 'x')]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^Error: Could not find the file \/nope in container own\n$/);

      assert.equal((await s.ok(['pause', 'own'])).stdout, 'own\n');
      assert.match((await s.ok(['ps'])).stdout, /\(Paused\)\s+own/);
      await s.ok(['unpause', 'own']);
      assert.doesNotMatch((await s.ok(['ps'])).stdout, /Paused/);

      await s.ok(['network', 'create', '--subnet', '10.231.72.0/24', 'ownnet']);
      await s.ok(['network', 'connect', '--alias', 'mine', 'ownnet', 'own']);
      const reach = await s.skiff([
        'run',
        '--rm',
        '--network',
        'ownnet',
        'busybox',
        'ping',
        '-c1',
        '-W5',
        'mine',
      ]);
      assert.equal(reach.code, 0, reach.stdout + reach.stderr);
      await s.ok(['network', 'disconnect', 'ownnet', 'own']);
      assert.equal((await s.ok(['network', 'inspect', 'ownnet'])).stdout.includes('"own"'), false);

      const df = tableRows((await s.ok(['system', 'df'])).stdout);
      assert.deepEqual(
        df.map((r) => r[0]),
        ['TYPE', 'Images', 'Containers', 'Local Volumes'],
      );
      await s.ok(['rm', '-f', 'own']);
    });

    it('container, image, volume and network prune; system df prints its table', async () => {
      const df = tableRows(await ok(['system', 'df']));
      assert.deepEqual(df[0], ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE']);
      assert.deepEqual(
        df.slice(1).map((r) => r[0]),
        ['Images', 'Containers', 'Local Volumes', 'Build Cache'],
      );

      // Containers: the exited ones go, the running one stays.
      await ok(['run', '--name', 'done1', 'busybox', 'true']);
      const done = await idOf('done1');
      const pruned = await ok(['container', 'prune', '-f']);
      assert.match(pruned, new RegExp(`^Deleted Containers:\\n(.*\\n)*${done}\\n`));
      assert.match(pruned, /Total reclaimed space: /);
      assert.equal(await ok(['ps', '-a', '-q', '--filter', 'status=exited']), '');
      assert.equal(await ok(['inspect', '-f', '{{.State.Running}}', 'cpsrc']), 'true\n');

      // Images: by default only the dangling one (its tag moved to another image).
      await svc.s.ok(['import', '-m', 'first', busyboxTar(), 'spare:1']);
      const dangling = (await ok(['inspect', '-f', '{{.Id}}', 'spare:1'])).trim();
      await svc.s.ok(['import', '-m', 'second', busyboxTar(), 'spare:1']);
      const imagePrune = await ok(['image', 'prune', '-f']);
      assert.match(imagePrune, new RegExp(`deleted: ${dangling}`));
      assert.match(await ok(['images']), /^spare\s+1/m);
      // With -a every unused image goes, tags and all; busybox, which containers use, stays.
      const all = await ok(['image', 'prune', '-a', '-f']);
      assert.match(all, /untagged: spare:1/);
      const images = await ok(['images']);
      assert.doesNotMatch(images, /spare/);
      assert.match(images, /^busybox\s+latest/m);

      // Volumes: the unused one goes, the one a container names stays.
      await ok(['volume', 'create', 'loose']);
      await ok(['create', '--name', 'holder', '-v', 'kept:/data', 'busybox', 'true']);
      const volumePrune = await ok(['volume', 'prune', '-f']);
      assert.match(volumePrune, /^Deleted Volumes:\nloose\n/);
      assert.deepEqual((await ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean), ['kept']);

      // Networks: the unused user networks go (cn too, now that nothing is on it); bridge stays.
      await ok(['network', 'create', 'unused-net']);
      const networkPrune = await ok(['network', 'prune', '-f']);
      assert.match(networkPrune, /unused-net/);
      assert.match(networkPrune, /cn/);
      const left = await ok(['network', 'ls', '--format', '{{.Name}}']);
      assert.doesNotMatch(left, /unused-net/);
      assert.match(left, /^bridge$/m);

      const after = tableRows(await ok(['system', 'df']));
      const volumes = after.find((r) => r[0] === 'Local Volumes')!;
      assert.equal(volumes[1], '1');
      assert.equal(volumes[2], '1');

      // skiff's own prune verbs, with label filters: only what the filter picks goes.
      await svc.s.ok(['volume', 'create', '--label', 'tier=tmp', 'tmp-vol']);
      await svc.s.ok(['volume', 'create', 'keep-vol']);
      await svc.s.ok(['network', 'create', '--label', 'tier=tmp', 'tmp-net']);
      await svc.s.ok(['network', 'create', 'keep-net']);
      const volumesPruned = await svc.s.ok(['volume', 'prune', '-f', '--filter', 'label=tier=tmp']);
      assert.match(volumesPruned.stdout, /^tmp-vol\nDeleted 1 volumes, /);
      const networksPruned = await svc.s.ok(['network', 'prune', '--filter', 'label=tier=tmp']);
      assert.equal(networksPruned.stdout, 'tmp-net\nDeleted 1 networks\n');
      assert.match(await ok(['volume', 'ls', '-q']), /^keep-vol$/m);
      assert.match(await ok(['network', 'ls', '--format', '{{.Name}}']), /^keep-net$/m);
      await svc.s.ok(['run', '--name', 'lab-done', '--label', 'tier=tmp', 'busybox', 'true']);
      await svc.s.ok(['run', '--name', 'plain-done', 'busybox', 'true']);
      const containersPruned = await svc.s.ok(['container', 'prune', '--filter', 'label=tier=tmp']);
      assert.match(containersPruned.stdout, /Deleted 1 containers\n$/);
      assert.match(await ok(['ps', '-a', '--format', '{{.Names}}']), /^plain-done$/m);
      assert.doesNotMatch(await ok(['ps', '-a', '--format', '{{.Names}}']), /lab-done/);
      const bad = await svc.s.skiff(['volume', 'prune', '--filter', 'nonsense']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /^Error: volume prune: bad filter `nonsense` \(KEY=VALUE\)\n$/);
    });
  },
);
