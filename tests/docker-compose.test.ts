/**
 * docker-compose 1.29 (Debian's, on docker-py) drives skiff through `skiff system service`: a
 * two-service project (web built from a Dockerfile and published on a host port, db with a
 * named volume, both on a user network, web depending on db) goes up, is listed, shows its
 * logs, runs `exec -T`, has a changed service recreated, and goes down with its volume.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpGet } from './container-testing.js';
import { run, waitFor, type RunResult } from './helpers.js';
import { startService, type ServiceSandbox } from './service-testing.js';
import { needs } from '../src/util/test-requirements.js';

const COMPOSE = (webEnv: string) => `version: "3.8"
services:
  db:
    image: busybox:latest
    command: ["sh", "-c", "mkdir -p /www && echo db-ok > /www/index.html && echo db-started && httpd -f -p 5432 -h /www"]
    volumes:
      - data:/data
    networks:
      - back
    # httpd as pid 1 ignores SIGTERM: without this each stop waits the default 10 s.
    stop_grace_period: 1s
  web:
    build: ./web
    depends_on:
      - db
    environment:
      - GREETING=${webEnv}
    ports:
      - "80"
    networks:
      - back
    stop_grace_period: 1s
volumes:
  data:
networks:
  back:
`;

describe(
  'docker-compose over skiff system service',
  { skip: needs('root', 'crun', 'conmon', 'ip', 'nft', 'docker', 'docker-compose') },
  () => {
    let svc: ServiceSandbox;
    let project: string;
    const compose = (args: string[]): Promise<RunResult> =>
      run('docker-compose', ['--ansi', 'never', '-p', 'shop', ...args], {
        cwd: project,
        env: svc.env,
        timeout: 120_000,
      });
    const ok = async (args: string[]): Promise<string> => {
      const r = await compose(args);
      assert.equal(r.code, 0, `docker-compose ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const containerId = async (service: string): Promise<string> => (await ok(['ps', '-q', service])).trim();

    before(async () => {
      svc = await startService('skiff-compose-');
      project = path.join(svc.s.dir, 'shop');
      fs.mkdirSync(path.join(project, 'web'), { recursive: true });
      fs.writeFileSync(path.join(project, 'web', 'index.html'), 'web-ok\n');
      fs.writeFileSync(
        path.join(project, 'web', 'Dockerfile'),
        'FROM busybox:latest\nCOPY index.html /www/index.html\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n',
      );
      fs.writeFileSync(path.join(project, 'docker-compose.yml'), COMPOSE('one'));
    });

    after(async () => {
      if (project) await compose(['down', '-v']);
      await svc?.close();
    });

    it('up -d builds web, creates the network and volume, and starts both', async () => {
      await ok(['up', '-d']);
      const ps = await ok(['ps']);
      assert.match(ps, /shop_db_1\s.*\sUp\b/);
      assert.match(ps, /shop_web_1\s.*\sUp\b/);
      assert.doesNotMatch(ps, /Up \(\)/);
    });

    it('web is published on a host port and reaches db by its service name', async () => {
      const port = (await ok(['port', 'web', '80'])).trim();
      assert.match(port, /:\d+$/);
      const hostPort = port.slice(port.lastIndexOf(':') + 1);
      assert.equal(await httpGet(`http://127.0.0.1:${hostPort}/`), 'web-ok\n');
      const fromWeb = await ok(['exec', '-T', 'web', 'wget', '-qO-', 'http://db:5432/']);
      assert.equal(fromWeb, 'db-ok\n');
    });

    it('logs shows each service’s output', async () => {
      await waitFor('db’s first line', async () =>
        /db-started/.test(await ok(['logs', 'db'])) ? true : undefined,
      );
    });

    it('a changed service is recreated by up -d; the unchanged one is kept', async () => {
      const [web, db] = [await containerId('web'), await containerId('db')];
      fs.writeFileSync(path.join(project, 'docker-compose.yml'), COMPOSE('two'));
      await ok(['up', '-d']);
      assert.notEqual(await containerId('web'), web);
      assert.equal(await containerId('db'), db);
      const env = await ok(['exec', '-T', 'web', 'sh', '-c', 'echo $GREETING']);
      assert.equal(env, 'two\n');
    });

    it('down -v removes the containers, the network and the volume', async () => {
      await ok(['down', '-v']);
      const docker = (args: string[]) => run('docker', args, { env: svc.env });
      assert.equal((await docker(['ps', '-aq'])).stdout, '');
      assert.doesNotMatch((await docker(['network', 'ls'])).stdout, /shop_back/);
      assert.doesNotMatch((await docker(['volume', 'ls'])).stdout, /shop_data/);
    });
  },
);
