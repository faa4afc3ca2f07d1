/**
 * NetworkManager against the real kernel: bridges, netns, veth, nftables. The "containers" are
 * bare network namespaces; commands run in them with `ip netns exec`. Every test uses its own
 * nft table, bridge prefix and subnet pool, and `after` removes all of it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from 'better-sqlite3';
import { openDatabase } from '../../store/database.js';
import { AlreadyExists, FailedPrecondition, InvalidArgument, NotFound } from '../../util/errors.js';
import { randomPort } from './host-ports.js';
import { netnsName, vethName } from './links.js';
import { NetworkManager, type Attachment } from './network-manager.js';
import { parsePublish } from './publish.js';
import { needs } from '../../util/test-requirements.js';

const skip = needs('root', 'ip', 'nft', 'busybox');

function sh(cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function inNetns(id: string, args: string[]): { status: number; stdout: string; stderr: string } {
  return sh('ip', ['netns', 'exec', netnsName(id), ...args]);
}

const TABLE = `skiff_test_${process.pid}`;
const PREFIX = `skt${process.pid % 100000}b`;
const POOL = '10.199.0.0/16';

describe('NetworkManager (root, real kernel)', { skip }, () => {
  let dir: string;
  let db: Database;
  let nm: NetworkManager;
  const ids: string[] = [];
  const servers: ChildProcess[] = [];

  function container(name: string): string {
    const id = randomBytes(32).toString('hex');
    db.prepare(
      `INSERT INTO containers (id, name, image_id, image_name, created, spec, runtime, state)
       VALUES (?, ?, 'sha256:test', 'test', ?, '{}', 'crun', 'created')`,
    ).run(id, name, new Date().toISOString());
    ids.push(id);
    return id;
  }

  /** Nothing of `id` left: no netns, no veth, no endpoint row, no state dir, no nft element. */
  async function assertGone(id: string, ip?: string): Promise<void> {
    assert.ok(!fs.existsSync(`/run/netns/${netnsName(id)}`), 'netns removed');
    // The kernel tears the namespace (and with it the veth pair) down in the background.
    for (let i = 0; i < 100 && fs.existsSync(`/sys/class/net/${vethName(id)}`); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(!fs.existsSync(`/sys/class/net/${vethName(id)}`), 'veth removed');
    assert.equal(sh('ip', ['netns', 'list']).stdout.includes(netnsName(id)), false);
    const rows = db.prepare('SELECT COUNT(*) AS n FROM endpoints WHERE container_id = ?').get(id) as {
      n: number;
    };
    assert.equal(rows.n, 0, 'endpoint row removed');
    assert.ok(!fs.existsSync(path.join(dir, 'networks', 'containers', id)), 'state dir removed');
    if (ip) {
      const table = sh('nft', ['list', 'table', 'inet', TABLE]).stdout;
      assert.ok(!table.includes(`${ip} . `), `no nft element points at ${ip}:\n${table}`);
    }
  }

  function serve(id: string, port: number, reply: string): void {
    const child = spawn(
      'ip',
      ['netns', 'exec', netnsName(id), 'busybox', 'nc', '-ll', '-p', String(port), '-e', 'echo', reply],
      {
        stdio: 'ignore',
      },
    );
    servers.push(child);
  }

  /** Connects (retrying while the server starts) and returns what the server says. */
  async function fetch(host: string, port: number): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await new Promise<string>((resolve, reject) => {
          const socket = net.connect({ host, port });
          let data = '';
          socket.setTimeout(2000, () => socket.destroy(new Error(`timeout ${host}:${port}`)));
          socket.on('data', (d) => (data += d.toString()));
          socket.on('end', () => resolve(data.trim()));
          socket.on('error', reject);
        });
      } catch (err) {
        if (attempt >= 30) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-net-'));
    db = openDatabase(path.join(dir, 'skiff.db'));
    db.prepare(`INSERT INTO images (id, created, added, config_size) VALUES ('sha256:test', NULL, ?, 0)`).run(
      new Date().toISOString(),
    );
    nm = new NetworkManager(db, path.join(dir, 'networks'), {
      table: TABLE,
      bridgePrefix: PREFIX,
      pool: POOL,
    });
  });

  after(() => {
    for (const s of servers) s.kill('SIGKILL');
    for (const id of ids) {
      try {
        nm.detach(id);
      } catch {
        // cleaned below by name
      }
      sh('ip', ['link', 'del', vethName(id)]);
      sh('ip', ['netns', 'del', netnsName(id)]);
    }
    for (const n of nm.list()) sh('ip', ['link', 'del', n.bridge]);
    sh('nft', ['delete', 'table', 'inet', TABLE]);
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
    const left = sh('ip', ['-o', 'link'])
      .stdout.split('\n')
      .filter((l) => l.includes(PREFIX));
    assert.deepEqual(left, [], 'no bridge left');
  });

  test('create, list, inspect, remove; errors', () => {
    const a = nm.create('appnet');
    assert.match(a.subnet, /^10\.199\.\d+\.0\/24$/);
    assert.equal(a.gateway, a.subnet.replace(/0\/24$/, '1'));
    assert.equal(a.bridge.startsWith(PREFIX), true);
    assert.match(a.id, /^[0-9a-f]{64}$/);
    const b = nm.create('other', { subnet: '10.199.200.0/24' });
    assert.equal(b.subnet, '10.199.200.0/24');
    assert.notEqual(a.bridge, b.bridge);
    const names = nm.list().map((n) => n.name);
    assert.deepEqual(names.sort(), ['appnet', 'bridge', 'other']);
    assert.equal(nm.inspect('other').gateway, '10.199.200.1');
    assert.notEqual(nm.inspect('bridge').subnet, a.subnet);

    assert.throws(() => nm.create('appnet'), AlreadyExists);
    assert.throws(() => nm.create('bridge'), AlreadyExists);
    assert.throws(() => nm.create('host'), InvalidArgument);
    assert.throws(() => nm.create('bad name'), InvalidArgument);
    assert.throws(() => nm.create('x', { subnet: '10.199.200.0/33' }), /invalid subnet `10.199.200.0\/33`/);
    assert.throws(() => nm.create('x', { subnet: '10.199.200.128/25' }), FailedPrecondition);
    assert.throws(() => nm.remove('bridge'), FailedPrecondition);
    assert.throws(() => nm.remove('nope'), NotFound);
    assert.throws(() => nm.inspect('nope'), /inspect network `nope`: no such network/);

    nm.remove('other');
    assert.throws(() => nm.inspect('other'), NotFound);
  });

  test('two containers on a user network reach each other by address and by name', async () => {
    const db1 = container('db');
    const web = container('web');
    const a = nm.attach(db1, { network: 'appnet', name: 'db', hostname: 'db-host', aliases: ['database'] });
    assert.equal(a.mode, 'bridge');
    assert.equal(a.netnsPath, `/run/netns/${netnsName(db1)}`);
    const hostsInode = fs.statSync(a.hostsFile).ino;
    const b = nm.attach(web, { network: 'appnet', name: 'web', hostname: 'web' });
    assert.notEqual(a.ip, b.ip);
    assert.equal(a.gateway, b.gateway);

    // Addresses, routes, and only lo + eth0 inside.
    const links = inNetns(db1, ['ip', '-o', 'link']).stdout.trim().split('\n');
    assert.equal(links.length, 2);
    assert.match(
      inNetns(db1, ['ip', 'route']).stdout,
      new RegExp(`default via ${a.gateway!.replace(/\./g, '\\.')}`),
    );
    assert.equal(inNetns(db1, ['busybox', 'ping', '-c1', '-W2', b.ip!]).status, 0, 'db pings web');
    assert.equal(inNetns(web, ['busybox', 'ping', '-c1', '-W2', a.ip!]).status, 0, 'web pings db');
    assert.equal(
      inNetns(web, ['busybox', 'ping', '-c1', '-W2', b.gateway!]).status,
      0,
      'web pings the gateway',
    );

    // Hosts files: each lists itself and the other; db's was rewritten in place.
    const dbHosts = fs.readFileSync(a.hostsFile, 'utf8');
    assert.match(dbHosts, /^127\.0\.0\.1\tlocalhost$/m);
    assert.ok(dbHosts.includes(`${a.ip}\tdb-host db database\n`), dbHosts);
    assert.ok(dbHosts.includes(`${b.ip}\tweb\n`), dbHosts);
    assert.equal(fs.statSync(a.hostsFile).ino, hostsInode, 'same inode');
    assert.ok(fs.readFileSync(b.hostsFile, 'utf8').includes(`${a.ip}\tdb database\n`));
    assert.doesNotMatch(fs.readFileSync(b.resolvConf, 'utf8'), /nameserver 127\./);

    // Resolution through the file, as a container that binds it at /etc/hosts sees it.
    const viaName = inNetns(web, [
      'sh',
      '-c',
      `mount --bind ${b.hostsFile} /etc/hosts && busybox ping -c1 -W2 database`,
    ]);
    assert.equal(viaName.status, 0, viaName.stderr + viaName.stdout);
    assert.ok(viaName.stdout.includes(a.ip!));

    assert.throws(() => nm.remove('appnet'), /remove network `appnet`: in use by 2 container\(s\): db, web/);

    nm.detach(web);
    await assertGone(web, b.ip);
    assert.ok(!fs.readFileSync(a.hostsFile, 'utf8').includes('web'), 'web left db hosts file');
    assert.equal(fs.statSync(a.hostsFile).ino, hostsInode);
    nm.detach(web); // idempotent
    nm.detach(db1);
    await assertGone(db1, a.ip);
  });

  test('a container on two networks: eth1 for the second, the peers and aliases of each', async () => {
    nm.create('frontnet');
    nm.create('backnet');
    const front = container('front');
    const back = container('back');
    const both = container('both');
    const f = nm.attach(front, { network: 'frontnet', name: 'front', hostname: 'front' });
    const b = nm.attach(back, { network: 'backnet', name: 'back', hostname: 'back' });
    const w = nm.attach(both, {
      network: 'frontnet',
      name: 'both',
      hostname: 'both',
      aliases: ['www'],
      extra: [{ network: 'backnet', aliases: ['api'] }],
    });
    const backIp = nm.inspect('backnet').containers.find((c) => c.name === 'both')!.ip;
    assert.equal(nm.addressOf(both), w.ip, 'the first network is the address');
    assert.deepEqual(inNetns(both, ['ip', '-o', 'link']).stdout.match(/eth\d/g), ['eth0', 'eth1']);
    assert.equal(inNetns(both, ['busybox', 'ping', '-c1', '-W2', f.ip!]).status, 0, 'reaches front');
    assert.equal(inNetns(both, ['busybox', 'ping', '-c1', '-W2', b.ip!]).status, 0, 'reaches back');
    assert.ok(fs.readFileSync(w.hostsFile, 'utf8').includes(`${f.ip}\tfront\n`));
    assert.ok(fs.readFileSync(w.hostsFile, 'utf8').includes(`${b.ip}\tback\n`));
    // Each peer sees the address and aliases of the network it shares.
    assert.ok(fs.readFileSync(f.hostsFile, 'utf8').includes(`${w.ip}\tboth www\n`));
    assert.ok(fs.readFileSync(b.hostsFile, 'utf8').includes(`${backIp}\tboth api\n`));
    assert.doesNotMatch(fs.readFileSync(f.hostsFile, 'utf8'), /\tback\n/, 'front does not see back');
    assert.throws(
      () =>
        nm.attach(container('bad'), {
          network: 'frontnet',
          name: 'bad',
          hostname: 'bad',
          extra: [{ network: 'frontnet' }],
        }),
      /cannot join `frontnet` as a further network/,
    );

    nm.detach(both);
    await assertGone(both);
    assert.ok(!fs.existsSync(`/sys/class/net/${vethName(both, 1)}`), 'second veth removed');
    assert.doesNotMatch(fs.readFileSync(b.hostsFile, 'utf8'), /\tboth /, 'both left back hosts file');
    nm.detach(front);
    nm.detach(back);
    nm.remove('frontnet');
    nm.remove('backnet');
  });

  test('connect and disconnect while attached: eth<n> comes and goes, peers learn and forget the name', async () => {
    nm.create('joina');
    nm.create('joinb');
    nm.create('joinc');
    const peer = container('joiner');
    const p = nm.attach(peer, { network: 'joinb', name: 'joiner', hostname: 'joiner' });
    const c = container('mover');
    const m = nm.attach(c, { network: 'bridge', name: 'mover', hostname: 'mover' });
    const links = () => inNetns(c, ['ip', '-o', 'link']).stdout.match(/eth\d/g);

    nm.connect(c, { network: 'joina' });
    nm.connect(c, { network: 'joinb', aliases: ['svc'] });
    assert.deepEqual(links(), ['eth0', 'eth1', 'eth2']);
    const onB = nm.inspect('joinb').containers.find((x) => x.name === 'mover')!.ip;
    assert.ok(fs.readFileSync(p.hostsFile, 'utf8').includes(`${onB}\tmover svc\n`), 'the peer resolves it');
    assert.ok(fs.readFileSync(m.hostsFile, 'utf8').includes(`${p.ip}\tjoiner\n`), 'it resolves the peer');
    assert.equal(inNetns(c, ['busybox', 'ping', '-c1', '-W2', p.ip!]).status, 0, 'reaches the peer');
    assert.throws(() => nm.connect(c, { network: 'joinb' }), AlreadyExists);
    assert.throws(() => nm.connect(c, { network: 'bridge' }), InvalidArgument);
    assert.throws(() => nm.disconnect(c, 'bridge'), FailedPrecondition, 'its first network stays');

    // Leaving the first further network keeps the second on eth2; the next join takes eth1 again.
    nm.disconnect(c, 'joina');
    assert.deepEqual(links(), ['eth0', 'eth2']);
    assert.equal(nm.inspect('joina').containers.length, 0);
    nm.connect(c, { network: 'joinc' });
    assert.deepEqual(links()!.sort(), ['eth0', 'eth1', 'eth2']);
    nm.disconnect(c, 'joinb');
    assert.doesNotMatch(fs.readFileSync(p.hostsFile, 'utf8'), /mover/, 'the peer forgot it');
    assert.doesNotMatch(fs.readFileSync(m.hostsFile, 'utf8'), /joiner/, 'it forgot the peer');
    assert.throws(() => nm.disconnect(c, 'joinb'), NotFound);

    nm.detach(c);
    await assertGone(c);
    for (const index of [1, 2]) assert.ok(!fs.existsSync(`/sys/class/net/${vethName(c, index)}`));
    nm.detach(peer);
    for (const n of ['joina', 'joinb', 'joinc']) nm.remove(n);
  });

  test('published ports: localhost, the bridge address, hairpin, random port, conflicts', async () => {
    const id = container('pub');
    const port = randomPort(new Set())!;
    const att: Attachment = nm.attach(id, {
      network: 'bridge',
      name: 'pub',
      hostname: 'pub',
      ports: [
        ...parsePublish(`${port}:80`),
        ...parsePublish('81'),
        ...parsePublish(`127.0.0.1:${port + 1}:82`),
      ],
    });
    assert.equal(att.ports.length, 3);
    const random = att.ports[1]!.hostPort;
    assert.ok(random > 0);
    serve(id, 80, 'hi');
    serve(id, 81, 'random');
    serve(id, 82, 'local-only');
    assert.equal(await fetch('127.0.0.1', port), 'hi');
    assert.equal(await fetch(att.gateway!, port), 'hi');
    assert.equal(await fetch('127.0.0.1', random), 'random');
    assert.equal(await fetch('127.0.0.1', port + 1), 'local-only');

    // Another container on the same bridge, through the host's bridge address (hairpin NAT),
    // and the container itself through its own published port.
    const peer = container('peer');
    nm.attach(peer, { network: 'bridge', name: 'peer', hostname: 'peer' });
    const fromPeer = inNetns(peer, ['busybox', 'nc', '-w', '2', att.gateway!, String(port)]);
    assert.equal(fromPeer.stdout.trim(), 'hi', fromPeer.stderr);
    const fromSelf = inNetns(id, ['busybox', 'nc', '-w', '2', att.gateway!, String(port)]);
    assert.equal(fromSelf.stdout.trim(), 'hi', fromSelf.stderr);

    // The same host port again: refused, nothing left behind.
    const clash = container('clash');
    assert.throws(
      () =>
        nm.attach(clash, {
          network: 'bridge',
          name: 'clash',
          hostname: 'clash',
          ports: parsePublish(`${port}:80`),
        }),
      (err: unknown) => err instanceof AlreadyExists && /port is already allocated/.test(err.message),
    );
    await assertGone(clash);
    assert.equal(await fetch('127.0.0.1', port), 'hi', 'the holder keeps its port');

    // A port a host process listens on is refused too.
    const listener = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => listener.once('listening', r));
    const busy = (listener.address() as net.AddressInfo).port;
    assert.throws(
      () =>
        nm.attach(clash, {
          network: 'bridge',
          name: 'clash',
          hostname: 'clash',
          ports: parsePublish(`${busy}:80`),
        }),
      /address already in use/,
    );
    listener.close();
    await assertGone(clash);

    // The servers keep the netns alive, as a container's processes would: stop them first.
    for (const s of servers.splice(0)) s.kill('SIGKILL');
    nm.detach(peer);
    nm.detach(id);
    await assertGone(peer);
    await assertGone(id, att.ip);
    await assert.rejects(fetch('127.0.0.1', port));
  });

  test('none has only lo; host shares the host netns', async () => {
    const id = container('isolated');
    const att = nm.attach(id, { network: 'none', name: 'isolated', hostname: 'iso' });
    assert.equal(att.mode, 'none');
    const links = inNetns(id, ['ip', '-o', 'link']).stdout.trim().split('\n');
    assert.equal(links.length, 1);
    assert.match(links[0]!, /: lo: <LOOPBACK,UP/);
    assert.match(fs.readFileSync(att.hostsFile, 'utf8'), /127\.0\.0\.1\tiso/);
    nm.detach(id);
    await assertGone(id);

    const h = container('hostnet');
    const ha = nm.attach(h, { network: 'host', name: 'hostnet', hostname: 'h' });
    assert.equal(ha.mode, 'host');
    assert.equal(ha.netnsPath, undefined);
    assert.equal(fs.readFileSync(ha.resolvConf, 'utf8'), fs.readFileSync('/etc/resolv.conf', 'utf8'));
    nm.detach(h);
    await assertGone(h);
  });

  test('detach cleans up after half-done attaches', async () => {
    // By hand: a row, a netns and a veth, but no record (a crash right after `ip`).
    const id = container('half');
    const net = nm.inspect('appnet');
    db.prepare(
      `INSERT INTO endpoints (container_id, network, ip, mac) VALUES (?, 'appnet', ?, '02:00:00:00:00:01')`,
    ).run(id, net.gateway.replace(/\.1$/, '.250'));
    sh('ip', ['netns', 'add', netnsName(id)]);
    sh('ip', ['link', 'add', vethName(id), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netnsName(id)]);
    assert.ok(fs.existsSync(`/sys/class/net/${vethName(id)}`));
    nm.detach(id);
    await assertGone(id);

    // A netns file that is not a mount (ip killed between creat and bind mount).
    fs.mkdirSync('/run/netns', { recursive: true });
    fs.writeFileSync(`/run/netns/${netnsName(id)}`, '');
    nm.detach(id);
    await assertGone(id);

    // Attach over leftovers: the stale state is cleared first.
    sh('ip', ['netns', 'add', netnsName(id)]);
    const att = nm.attach(id, { network: 'appnet', name: 'half', hostname: 'half' });
    assert.equal(inNetns(id, ['busybox', 'ping', '-c1', '-W2', att.gateway!]).status, 0);
    nm.detach(id);
    await assertGone(id, att.ip);
  });

  test('kill -9 at any point of an attach leaves state a detach cleans', async () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const script = `
      const { openDatabase } = await import(${JSON.stringify(path.join(here, '../../store/database.js'))});
      const { NetworkManager } = await import(${JSON.stringify(path.join(here, 'network-manager.js'))});
      const db = openDatabase(process.argv[1]);
      const nm = new NetworkManager(db, process.argv[2], ${JSON.stringify({ table: TABLE, bridgePrefix: PREFIX, pool: POOL })});
      process.stdout.write('ready\\n');
      nm.attach(process.argv[3], { network: 'bridge', name: 'victim', hostname: 'v', ports: [{ hostPort: 0, containerPort: 80, protocol: 'tcp' }] });
      process.stdout.write('done\\n');
      setTimeout(() => {}, 10000);
    `;
    // Even runs kill the process group (ip dies too, maybe halfway); odd runs kill only node,
    // as `kill -9 <skiff pid>` does: its `ip` child then finishes on its own, and the later
    // `rm -f` finds a complete endpoint.
    let finished = 0;
    const delays = [0, 4, 8, 12, 16, 20, 30, 45, 150];
    for (const [i, delay] of delays.entries()) {
      const id = container(`victim${delay}`);
      const child = spawn(
        process.execPath,
        ['--input-type=module', '-e', script, path.join(dir, 'skiff.db'), path.join(dir, 'networks'), id],
        { stdio: ['ignore', 'pipe', 'inherit'], detached: true },
      );
      const kill = (): void => {
        if (i % 2 === 0) process.kill(-child.pid!, 'SIGKILL');
        else child.kill('SIGKILL');
      };
      let out = '';
      await new Promise<void>((resolve) => {
        child.stdout!.on('data', (d: Buffer) => {
          const first = !out.includes('ready');
          out += d.toString();
          if (first && out.includes('ready')) setTimeout(kill, delay);
        });
        child.on('exit', () => resolve());
      });
      if (out.includes('done')) finished++;
      if (i % 2 === 1) await new Promise((r) => setTimeout(r, 300));
      const ip = (
        db.prepare('SELECT ip FROM endpoints WHERE container_id = ?').get(id) as { ip?: string } | undefined
      )?.ip;
      nm.detach(id);
      await assertGone(id, ip);
    }
    console.log(`# kill -9 runs: ${finished} of ${delays.length} finished the attach before the kill`);
  });
});
