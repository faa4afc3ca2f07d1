/**
 * Deploy (issue 6): zero-downtime releases behind a real HAProxy, changed only through its
 * runtime API; history, diff and rollback; services that find each other by name; and the bad
 * inputs of the issue — each a one-line error that leaves the live release serving.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { discardRoot } from './container-testing.js';
import { appImage, get, steadyLoad } from './deploy-testing.js';
import {
  busyboxTar,
  freePort,
  makeSandbox,
  oneLineError,
  SKIFF_BIN,
  waitFor,
  type Sandbox,
} from './helpers.js';
import { serveCli } from '../src/registry/server/testing.js';
import { findProgram, PROGRAMS } from '../src/util/programs.js';
import { needs } from '../src/util/test-requirements.js';

interface ServiceJson {
  name: string;
  release: number | null;
  replicas: number;
  ready: number;
  servers: { name: string; address: string; state: string }[];
  /** the previous release, still running and drained (deploy --keep-warm) */
  warm?: { release: number; servers: { name: string; address: string; state: string }[] };
}

describe('deploy behind HAProxy', { skip: needs('root', 'crun', 'conmon', 'ip', 'nft', 'haproxy') }, () => {
  let s: Sandbox;

  before(async () => {
    s = makeSandbox('skiff-deploy-');
    await s.ok(['import', busyboxTar(), 'base:1']);
    for (const v of ['v1', 'v2', 'v3']) await appImage(s, `app:${v}`, `${v}\n`);
    await appImage(s, 'app:sick', 'sick\n', { healthy: false });
    await appImage(s, 'db:v1', 'db one\n', { port: 80 });
    await appImage(s, 'db:v2', 'db two\n', { port: 80 });
  });
  after(() => discardRoot(s));

  async function deploy(service: string, image: string, port: number, ...more: string[]) {
    return s.skiff([
      'deploy',
      service,
      image,
      '--replicas',
      '2',
      '--port',
      `127.0.0.1:${port}:8080`,
      '--health',
      '/up',
      '--health-timeout',
      '5s',
      '--drain',
      '2s',
      ...more,
    ]);
  }

  async function services(): Promise<ServiceJson[]> {
    return JSON.parse((await s.ok(['services', '--format', 'json'])).stdout) as ServiceJson[];
  }

  it('v1 → v2 → rollback → v3 under steady load: no failed request, traffic follows each switch', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    assert.equal((await deploy('web', 'app:v1', port)).code, 0);
    assert.equal(await get(url), 'v1\n');
    const load = steadyLoad(url, 3);
    const marks: { before: number; after: number; expect: string }[] = [];
    const step = async (command: () => Promise<{ code: number | null; stderr: string }>, expect: string) => {
      const before = performance.now();
      const r = await command();
      assert.equal(r.code, 0, r.stderr);
      marks.push({ before, after: performance.now(), expect });
      await new Promise((resolve) => setTimeout(resolve, 500));
    };
    await new Promise((resolve) => setTimeout(resolve, 300));
    await step(() => deploy('web', 'app:v2', port), 'v2\n');
    await step(() => s.skiff(['rollback', 'web']), 'v1\n');
    await step(() => deploy('web', 'app:v3', port), 'v3\n');
    const samples = await load.stop();
    const failed = samples.filter((x) => x.error !== undefined);
    assert.deepEqual(
      failed.slice(0, 5).map((f) => f.error),
      [],
      `${failed.length} of ${samples.length} requests failed`,
    );
    assert.ok(samples.length > 100, `only ${samples.length} requests were made`);
    // A request sent after a command returned (and before the next began) is answered by the
    // release it made live.
    marks.forEach((m, i) => {
      const until = marks[i + 1]?.before ?? Infinity;
      const window = samples.filter((x) => x.start > m.after && x.start < until);
      assert.ok(window.length > 0, `no request after switch ${i + 1}`);
      const wrong = window.filter((x) => x.body !== m.expect);
      assert.equal(
        wrong.length,
        0,
        `after switch ${i + 1}: ${wrong.length} of ${window.length} answers were not ${m.expect.trim()} but ${[...new Set(wrong.map((x) => JSON.stringify(x.body)))].join(', ')} (${((wrong[0]?.start ?? 0) - m.after).toFixed(0)}..${((wrong.at(-1)?.start ?? 0) - m.after).toFixed(0)} ms after)`,
      );
    });
    const seen = [...new Set(samples.map((x) => x.body))];
    assert.deepEqual(seen, ['v1\n', 'v2\n', 'v3\n']);
  });

  it('skiff services agrees with HAProxy `show servers state`', async () => {
    const [web] = (await services()).filter((x) => x.name === 'web');
    assert.ok(web, 'web is listed');
    const reply = await adminCommand(path.join(s.root, 'proxy', 'admin.sock'), 'show servers state be_web');
    const rows = reply
      .split('\n')
      .slice(2)
      .filter((l) => l.trim() !== '')
      .map((l) => l.split(' '));
    const fromProxy = rows.map((f) => ({
      name: f[3],
      address: `${f[4]}:${f[18]}`,
      ready: f[6] === '0' && f[5] === '2',
    }));
    // The backend holds the live release's servers and the warm one's (drained).
    assert.deepEqual(
      [...web.servers, ...(web.warm?.servers ?? [])]
        .map((x) => ({ name: x.name, address: x.address, ready: x.state === 'ready' }))
        .sort(byName),
      fromProxy.sort(byName),
    );
    assert.equal(web.ready, 2);
    assert.equal(web.replicas, 2);
    assert.ok(web.servers.every((x) => x.name.startsWith(`web-${web.release}-`)));
  });

  it('releases read like git log; diff names the image, its files and the env', async () => {
    const log = (await s.ok(['releases', 'web'])).stdout;
    assert.match(log, /^release 3 \(live\)\nImage: {2}app:v3 sha256:[0-9a-f]{64}\nAuthor: .+\nDate: {3}/);
    assert.match(log, /release 2 \(retired\)/);
    // Release 1 was switched away from last (by the v3 deploy): it stays warm for the window.
    assert.match(
      log,
      /release 1 \(warm: running, drained, until [^)]+\)[\s\S]*first release: app:v1, 2 replicas/,
    );
    const history = JSON.parse((await s.ok(['releases', 'web', '--format', 'json'])).stdout) as {
      number: number;
    }[];
    assert.deepEqual(
      history.map((r) => r.number),
      [3, 2, 1],
    );
    const diff = (await s.ok(['diff', 'web', '2', '3'])).stdout;
    assert.match(diff, /^diff web release 2 → 3\nimage: app:v2 \([0-9a-f]{12}\) → app:v3 \([0-9a-f]{12}\)\n/);
    assert.match(diff, /\nlayers: 1 removed, 1 added\n~ \/www\/index\.html\n$/);
    const same = (await s.ok(['diff', 'web', '3', '3'])).stdout;
    assert.match(same, /image: same/);
  });

  it('a release that never gets healthy is abandoned; the live one keeps serving', async () => {
    const port = Number(/127\.0\.0\.1:(\d+)->/.exec((await s.ok(['services'])).stdout)![1]);
    const before = (await services()).find((x) => x.name === 'web')!;
    const r = await deploy('web', 'app:sick', port);
    assert.equal(r.code, 1);
    assert.match(oneLineError(r.stderr), /replica web-4-\d not ready within 5 s \(GET \/up answered 404\)/);
    assert.equal(await get(`http://127.0.0.1:${port}/`), 'v3\n');
    const after = (await services()).find((x) => x.name === 'web')!;
    assert.equal(after.release, before.release);
    assert.deepEqual(after.servers, before.servers);
    const ps = (await s.ok(['ps', '-a', '--format', 'json'])).stdout;
    assert.doesNotMatch(ps, /web-4-/, 'the failed release left no container');
    assert.match((await s.ok(['releases', 'web'])).stdout, /release 4 \(failed\)/);
  });

  it('rollback with no previous release, unknown image, bad flags: one-line errors', async () => {
    const port = await freePort();
    assert.equal((await deploy('solo', 'app:v1', port)).code, 0);
    const rb = await s.skiff(['rollback', 'solo']);
    assert.equal(rb.code, 1);
    assert.equal(oneLineError(rb.stderr), 'Error: rollback `solo`: no previous release to roll back to');
    const unknown = await deploy('solo', 'nosuch:v9', port);
    assert.equal(unknown.code, 1);
    assert.match(oneLineError(unknown.stderr), /nosuch:v9/);
    assert.doesNotMatch((await s.ok(['releases', 'solo'])).stdout, /release 2/);
    const badPort = await s.skiff(['deploy', 'solo', 'app:v1', '--port', '99999']);
    assert.equal(badPort.code, 1);
    assert.match(oneLineError(badPort.stderr), /invalid --port `99999`/);
    const badName = await s.skiff(['deploy', 'No/Way', 'app:v1']);
    assert.match(oneLineError(badName.stderr), /service `No\/Way`: invalid name/);
    await s.ok(['service', 'rm', 'solo']);
  });

  it('a port already taken: clear error, nothing started, the proxy untouched', async () => {
    const blocker = net.createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as net.AddressInfo).port)),
    );
    try {
      const r = await deploy('taken', 'app:v1', port);
      assert.equal(r.code, 1);
      assert.equal(
        oneLineError(r.stderr),
        `Error: deploy \`taken\`: port 127.0.0.1:${port} is already in use`,
      );
      assert.equal(
        (await services()).find((x) => x.name === 'taken'),
        undefined,
      );
      assert.doesNotMatch((await s.ok(['ps', '-a'])).stdout, /taken-/);
    } finally {
      blocker.close();
    }
  });

  it('two deploys of one service at once: one is refused, the other is whole', async () => {
    const port = Number(/127\.0\.0\.1:(\d+)->/.exec((await s.ok(['services'])).stdout)![1]);
    const [a, b] = await Promise.all([deploy('web', 'app:v1', port), deploy('web', 'app:v2', port)]);
    const codes = [a.code, b.code].sort();
    assert.deepEqual(codes, [0, 1], `${a.stderr}\n${b.stderr}`);
    const refused = a.code === 1 ? a : b;
    assert.match(
      oneLineError(refused.stderr),
      /another deploy or rollback of `web` is in progress; nothing was changed/,
    );
    const winner = a.code === 0 ? 'v1\n' : 'v2\n';
    const url = `http://127.0.0.1:${port}/`;
    // The lock is what this checks; a kept-alive connection to the proxy may still reach the
    // previous (now warm, drained) release for a moment, so wait for the winner's answer.
    await waitFor(`GET ${url} from ${winner.trim()}`, async () =>
      (await get(url).catch(() => undefined)) === winner ? true : undefined,
    );
    const web = (await services()).find((x) => x.name === 'web')!;
    assert.equal(web.ready, 2);
  });

  it('HAProxy missing or its socket gone: clear error, nothing half-switched', async () => {
    const port = Number(/127\.0\.0\.1:(\d+)->/.exec((await s.ok(['services'])).stdout)![1]);
    const before = (await services()).find((x) => x.name === 'web')!;
    const body = await get(`http://127.0.0.1:${port}/`);
    // A machine without HAProxy: skiff looks for its programs only in a folder that has all but it.
    const bin = path.join(s.dir, 'no-haproxy');
    fs.mkdirSync(bin, { recursive: true });
    for (const name of Object.keys(PROGRAMS).filter((p) => p !== 'haproxy')) {
      const file = findProgram(name);
      if (file !== undefined && !fs.existsSync(path.join(bin, name)))
        fs.symlinkSync(file, path.join(bin, name));
    }
    const missing = await s.skiff(
      ['deploy', 'other', 'app:v1', '--port', `127.0.0.1:${await freePort()}:8080`],
      { env: { ...process.env, SKIFF_PROGRAM_PATH: bin } },
    );
    assert.equal(missing.code, 1);
    assert.match(oneLineError(missing.stderr), /run `haproxy`: not installed \(apt-get install haproxy\)/);
    const sock = path.join(s.root, 'proxy', 'admin.sock');
    fs.renameSync(sock, `${sock}.away`);
    try {
      const gone = await deploy('web', 'app:v1', port);
      assert.equal(gone.code, 1);
      assert.match(oneLineError(gone.stderr), /does not answer; nothing was changed/);
    } finally {
      fs.renameSync(`${sock}.away`, sock);
    }
    const after = (await services()).find((x) => x.name === 'web')!;
    assert.deepEqual(after, before);
    assert.equal(await get(`http://127.0.0.1:${port}/`), body);
    assert.doesNotMatch((await s.ok(['ps', '-a'])).stdout, /other-/);
  });

  it('pruning never breaks a rollback target', async () => {
    const port = Number(/127\.0\.0\.1:(\d+)->/.exec((await s.ok(['services'])).stdout)![1]);
    await appImage(s, 'app:v4', 'v4\n');
    for (const image of ['app:v4', 'app:v3']) {
      const r = await deploy('web', image, port);
      assert.equal(r.code, 0, r.stderr);
    }
    // v4 is now only the rollback target's image, and it has no name left.
    await s.ok(['rmi', '-f', 'app:v4']);
    await s.ok(['system', 'prune']);
    await s.ok(['rollback', 'web']);
    assert.equal(await get(`http://127.0.0.1:${port}/`), 'v4\n');
  });

  it('HAProxy killed: `system boot` starts it again from the live release', async () => {
    const port = Number(/127\.0\.0\.1:(\d+)->/.exec((await s.ok(['services'])).stdout)![1]);
    const url = `http://127.0.0.1:${port}/`;
    const body = await get(url);
    const pid = Number(fs.readFileSync(path.join(s.root, 'proxy', 'haproxy.pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    await waitFor('haproxy to be gone', () =>
      get(url).then(
        () => undefined,
        () => true,
      ),
    );
    await s.ok(['system', 'boot']);
    assert.equal(await get(url), body);
    const web = (await services()).find((x) => x.name === 'web')!;
    assert.equal(web.ready, 2);
  });

  it('deploys an image it lacks from the registry its name gives', async (t) => {
    const registry = await serveCli(SKIFF_BIN, path.join(s.dir, 'registry'));
    t.after(() => registry.stop());
    const { host } = registry;
    const ref = `${host}/team/app:v1`;
    await s.ok(['push', 'app:v1', ref]);
    const other = makeSandbox('skiff-deploy-pull-');
    t.after(() => discardRoot(other));
    const port = await freePort();
    const r = await other.ok(['deploy', 'web', ref, '--port', `127.0.0.1:${port}:8080`, '--health', '/up']);
    assert.match(r.stdout, /not in the store, pulling/);
    assert.equal(await get(`http://127.0.0.1:${port}/`), 'v1\n');
  });

  it('services on one network find each other by name, and a replaced database without a restart', async () => {
    assert.equal((await s.skiff(['deploy', 'db', 'db:v1', '--network', 'appnet'])).code, 0);
    await s.ok(['run', '-d', '--name', 'client', '--network', 'appnet', 'base:1', 'sleep', '600']);
    const ask = async () => (await s.ok(['exec', 'client', 'wget', '-q', '-O-', 'http://db/'])).stdout;
    assert.equal(await ask(), 'db one\n');
    assert.equal((await s.skiff(['deploy', 'db', 'db:v2', '--network', 'appnet'])).code, 0);
    assert.equal(await ask(), 'db two\n');
    await s.ok(['rm', '-f', 'client']);
  });

  it('a project file brings up the app, its database and its cache; the database keeps its volume', async () => {
    const dir = fs.mkdtempSync(path.join(s.dir, 'project-'));
    const file = path.join(dir, 'skiff.yaml');
    const port = await freePort();
    const write = (dbImage: string) =>
      fs.writeFileSync(
        file,
        [
          'network: shopnet',
          'services:',
          '  shop:',
          '    image: app:v1',
          '    replicas: 2',
          `    port: "127.0.0.1:${port}:8080"`,
          '    health: /up',
          '    environment:',
          '      DB_HOST: shopdb',
          '    depends_on: [shopdb, shopcache]',
          '  shopdb:',
          `    image: ${dbImage}`,
          '    volumes: ["shopdata:/data"]',
          '  shopcache:',
          '    image: base:1',
          '    command: sleep 600',
          '',
        ].join('\n'),
      );
    write('db:v1');
    const first = (await s.ok(['deploy', '-f', file])).stdout;
    assert.deepEqual(
      first.split('\n').filter((l) => /^\w+: release/.test(l)),
      [
        'shopdb: release 1 live (db:v1)',
        'shopcache: release 1 live (base:1)',
        'shop: release 1 live (app:v1)',
      ],
    );
    assert.equal(await get(`http://127.0.0.1:${port}/`), 'v1\n');
    const listed = (await services()).filter((x) => x.name.startsWith('shop'));
    assert.deepEqual(
      listed.map((x) => [x.name, x.release, x.ready, x.replicas]),
      [
        ['shop', 1, 2, 2],
        ['shopcache', 1, 1, 1],
        ['shopdb', 1, 1, 1],
      ],
    );
    await s.ok(['exec', 'shopdb-1-1', 'sh', '-c', 'echo kept > /data/marker']);
    // The database has no port for skiff to check: the app asks until it answers.
    // On a loaded machine the replaced database can take a while to answer at its new
    // address; if it never does, the failure shows what the app's /etc/hosts says.
    const fromApp = async () => {
      let last = '';
      try {
        return await waitFor(
          'shopdb to answer',
          async () => {
            const r = await s.skiff(['exec', 'shop-1-1', 'wget', '-q', '-O-', 'http://shopdb/']);
            last = r.stderr.trim();
            return r.code === 0 ? r.stdout : undefined;
          },
          { timeout: 30_000 },
        );
      } catch (err) {
        const hosts = (await s.skiff(['exec', 'shop-1-1', 'cat', '/etc/hosts'])).stdout;
        throw new Error(`${(err as Error).message}; wget: ${last}; the app's /etc/hosts:\n${hosts}`, {
          cause: err,
        });
      }
    };
    assert.equal(await fromApp(), 'db one\n');

    write('db:v2');
    const second = (await s.ok(['deploy', '-f', file])).stdout;
    assert.match(second, /^shopdb: release 2 live \(db:v2\)$/m);
    assert.match(second, /^shopcache: unchanged, release 1 stays live$/m);
    assert.match(second, /^shop: unchanged, release 1 stays live$/m);
    assert.equal((await s.ok(['exec', 'shopdb-2-1', 'cat', '/data/marker'])).stdout, 'kept\n');
    assert.equal(await fromApp(), 'db two\n', 'the app reaches the new database without a restart');
    await s.ok(['service', 'rm', 'shop', 'shopdb', 'shopcache']);
    assert.deepEqual(
      (await services()).filter((x) => x.name.startsWith('shop')),
      [],
    );
  });
});

function byName(a: { name?: string }, b: { name?: string }): number {
  return (a.name ?? '').localeCompare(b.name ?? '');
}

function adminCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket, () => c.end(`${command}\n`));
    const chunks: Buffer[] = [];
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    c.on('error', reject);
  });
}
