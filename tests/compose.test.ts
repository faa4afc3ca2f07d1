/**
 * Compose files read whole: a real multi-service file (web built from a Dockerfile, a database
 * with a health check that gates the web, a cache; values from the environment and `.env`; two
 * networks) through `skiff deploy -f`, what runs checked from outside and from inside the
 * containers, then `skiff down --volumes` leaves nothing of the project. A file with a key
 * skiff cannot carry out is refused whole, with its line, before anything starts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { discardRoot } from './container-testing.js';
import { appImage, get } from './deploy-testing.js';
import { busyboxTar, freePort, makeSandbox, oneLineError, waitFor, type Sandbox } from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

interface PsJson {
  name: string;
  state: string;
  health?: string;
  ports: { hostIp?: string; hostPort: number; containerPort: number; protocol: string }[];
}

describe(
  'compose files through skiff deploy -f',
  { skip: needs('root', 'crun', 'conmon', 'ip', 'nft', 'haproxy') },
  () => {
    let s: Sandbox;
    let dir: string;

    before(async () => {
      s = makeSandbox('skiff-compose-');
      await s.ok(['import', busyboxTar(), 'base:1']);
      await appImage(s, 'db:v1', 'db one\n', { port: 80 });
      dir = path.join(s.dir, 'shop');
      fs.mkdirSync(path.join(dir, 'web'), { recursive: true });
      fs.writeFileSync(
        path.join(dir, 'web', 'Dockerfile'),
        ['FROM base:1', 'ARG GREETING', 'RUN mkdir -p /www && echo "$GREETING" > /www/index.html', ''].join(
          '\n',
        ),
      );
    });
    after(() => discardRoot(s));

    const ps = async () => JSON.parse((await s.ok(['ps', '-a', '--format', 'json'])).stdout) as PsJson[];
    const names = async (kind: 'network' | 'volume') =>
      (JSON.parse((await s.ok([kind, 'ls', '--format', 'json'])).stdout) as { name: string }[]).map(
        (x) => x.name,
      );

    it('a key skiff cannot carry out refuses the file, with its line, before anything starts', async () => {
      const file = path.join(dir, 'refused.yaml');
      fs.writeFileSync(
        file,
        [
          'services:',
          '  cache:',
          '    image: base:1',
          '    command: sleep 600',
          '    secrets: [token]',
          '',
        ].join('\n'),
      );
      const r = await s.skiff(['deploy', '-f', file]);
      assert.notEqual(r.code, 0);
      assert.equal(
        oneLineError(r.stderr),
        `Error: ${file}:5: service \`cache\`: \`secrets\` is not supported`,
      );
      assert.deepEqual(await ps(), []);
    });

    it('web + db + cache: a build, interpolation, a health gate, two networks; down leaves nothing', async () => {
      const port = await freePort();
      fs.writeFileSync(
        path.join(dir, '.env'),
        `GREETING=hello from dotenv\nWEB_PORT=${port}\nTAG=from-dotenv\n`,
      );
      const file = path.join(dir, 'compose.yaml');
      fs.writeFileSync(
        file,
        [
          'services:',
          '  web:',
          '    build:',
          '      context: ./web',
          '      args:',
          '        GREETING: ${GREETING:-unset}',
          '    image: shop-web:${TAG}',
          `    command: sh -c "trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"`,
          '    environment:',
          '      DB_URL: http://database/',
          '    ports:',
          '      - "127.0.0.1:${WEB_PORT}:8080"',
          '    networks: [front, back]',
          '    depends_on:',
          '      db:',
          '        condition: service_healthy',
          '      cache:',
          '        condition: service_started',
          '  db:',
          '    image: db:v1',
          '    volumes: [dbdata:/data]',
          '    healthcheck:',
          // Fails once (and marks), then passes: the gate must wait for the second check.
          '      test: ["CMD-SHELL", "test -f /data/ready || { touch /data/ready; exit 1; }"]',
          '      interval: 1s',
          '      timeout: 5s',
          '      retries: 5',
          '    networks:',
          '      back:',
          '        aliases: [database]',
          '  cache:',
          '    image: base:1',
          '    command: sleep 600',
          '    stop_signal: KILL',
          '    networks: [back]',
          'networks:',
          '  front:',
          '  back:',
          'volumes:',
          '  dbdata:',
          'x-notes: ignored, as Compose ignores it',
          '',
        ].join('\n'),
      );
      // The environment wins over .env: the tag comes from here, the greeting from .env.
      const deployed = await s.skiff(['deploy', '-f', file], { env: { TAG: 'v7' } });
      assert.equal(deployed.code, 0, deployed.stderr);
      const lines = deployed.stdout.split('\n').filter((l) => /^\w+: /.test(l));
      assert.deepEqual(
        lines.map((l) => l.replace(/\(\w{12}\)$/, '(ID)').replace(/ from .*$/, '')),
        [
          'web: building shop-web:v7',
          'web: built shop-web:v7 (ID)',
          'db: release 1 live (db:v1)',
          'cache: release 1 live (base:1)',
          'web: waiting for db to be healthy',
          'web: release 1 live (shop-web:v7)',
        ],
      );

      const rows = await ps();
      const row = (name: string) => rows.find((r) => r.name === name);
      assert.deepEqual(rows.map((r) => [r.name, r.state]).sort(), [
        ['cache-1-1', 'running'],
        ['db-1-1', 'running'],
        ['web-1-1', 'running'],
      ]);
      assert.equal(row('db-1-1')!.health, 'healthy', 'the gate passed');
      assert.deepEqual(row('web-1-1')!.ports, [
        { hostIp: '127.0.0.1', hostPort: port, containerPort: 8080, protocol: 'tcp' },
      ]);
      assert.equal(
        await get(`http://127.0.0.1:${port}/`),
        'hello from dotenv\n',
        'built with the interpolated arg',
      );

      // Two networks: web is on both, db and cache only on back; names resolve per network.
      const members = async (network: string) =>
        (
          JSON.parse((await s.ok(['network', 'inspect', network])).stdout) as {
            containers: { name: string }[];
          }[]
        )[0]!.containers
          .map((c) => c.name)
          .sort();
      assert.deepEqual(await members('shop_front'), ['web-1-1']);
      assert.deepEqual(await members('shop_back'), ['cache-1-1', 'db-1-1', 'web-1-1']);
      const fromWeb = await waitFor('web to reach the database by its alias', async () => {
        const r = await s.skiff(['exec', 'web-1-1', 'wget', '-q', '-O-', 'http://database/']);
        return r.code === 0 ? r.stdout : undefined;
      });
      assert.equal(fromWeb, 'db one\n');
      assert.equal(
        (await s.ok(['exec', 'cache-1-1', 'wget', '-q', '-O-', 'http://web:8080/'])).stdout,
        'hello from dotenv\n',
      );
      const env = (await s.ok(['exec', 'web-1-1', 'env'])).stdout;
      assert.match(env, /^DB_URL=http:\/\/database\/$/m);

      // Deployed again unchanged: nothing restarts.
      const again = await s.ok(['deploy', '-f', file], { env: { TAG: 'v7' } });
      assert.match(again.stdout, /^db: unchanged, release 1 stays live$/m);
      assert.match(again.stdout, /^web: unchanged, release 1 stays live$/m);

      // A changed build arg makes a new image: web is recreated on its published port.
      fs.writeFileSync(path.join(dir, '.env'), `GREETING=hello again\nWEB_PORT=${port}\n`);
      const changed = await s.ok(['deploy', '-f', file], { env: { TAG: 'v7' } });
      assert.match(changed.stdout, /^web: release 2 live \(shop-web:v7\)$/m);
      assert.match(changed.stdout, /^db: unchanged, release 1 stays live$/m);
      assert.equal(await get(`http://127.0.0.1:${port}/`), 'hello again\n');

      const down = await s.ok(['down', '-f', file, '--volumes']);
      assert.match(down.stdout, /^removed service web$/m);
      assert.match(down.stdout, /^removed volume shop_dbdata$/m);
      assert.deepEqual(await ps(), []);
      assert.deepEqual(JSON.parse((await s.ok(['services', '--format', 'json'])).stdout), []);
      assert.deepEqual(
        (await names('network')).filter((n) => n.startsWith('shop')),
        [],
      );
      assert.deepEqual(
        (await names('volume')).filter((n) => n.startsWith('shop')),
        [],
      );
    });

    it('a health check that fails stops the deploy before its dependents start', async () => {
      const file = path.join(dir, 'sick.yaml');
      fs.writeFileSync(
        file,
        [
          'services:',
          '  sick:',
          '    image: base:1',
          '    command: sleep 600',
          '    healthcheck:',
          '      test: ["CMD", "false"]',
          '      interval: 1s',
          '      retries: 1',
          '  app:',
          '    image: base:1',
          '    command: sleep 600',
          '    depends_on:',
          '      sick: {condition: service_healthy}',
          '',
        ].join('\n'),
      );
      const r = await s.skiff(['deploy', '-f', file]);
      assert.notEqual(r.code, 0);
      assert.match(
        oneLineError(r.stderr),
        /^Error: deploy `sick` release 1: replica sick-1-1 not ready within \S+ s \(unhealthy, health check exited 1\)$/,
      );
      assert.deepEqual(
        (await ps()).filter((x) => x.state === 'running'),
        [],
        'the failed release is abandoned and app never started',
      );
      await s.ok(['down', '-f', file]);
      assert.deepEqual(await ps(), []);
    });
  },
);
