/**
 * `skiff system service`: the docker CLI (client only; no dockerd runs) drives skiff through
 * the Docker Engine API on a unix socket. Each command's output and exit status are checked
 * as a user of `docker` would see them, and malformed requests get Docker's error answers.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { httpGet } from './container-testing.js';
import { run, waitFor, type RunResult, type Sandbox } from './helpers.js';
import { apiRequest, startService, type ServiceSandbox } from './service-testing.js';
import { needs } from '../src/util/test-requirements.js';

describe(
  'the docker CLI over skiff system service',
  { skip: needs('root', 'crun', 'conmon', 'ip', 'nft', 'docker', 'script') },
  () => {
    let svc: ServiceSandbox;
    let s: Sandbox;
    let socket: string;
    let service: ServiceSandbox['service'];
    let env: Record<string, string>;
    const docker = (args: string[]): Promise<RunResult> => run('docker', args, { env, timeout: 60_000 });
    const ok = async (args: string[]): Promise<string> => {
      const r = await docker(args);
      assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const request = (method: string, p: string, body?: string | Buffer) =>
      apiRequest(socket, method, p, body);

    before(async () => {
      svc = await startService('skiff-dockerapi-');
      ({ s, socket, env, service } = svc);
      await s.ok(['tag', 'busybox:latest', 'bb:1']);
    });

    after(() => svc?.close());

    it('version and info name skiff as the server', async () => {
      const version = await ok(['version']);
      assert.match(version, /Server: skiff/);
      assert.match(version, /API version:\s+1\.41/);
      assert.match(await ok(['info']), /Server Version: 0\.1\.0/);
    });

    it('ps -a and images list containers and images in Docker’s form', async () => {
      assert.match(await ok(['ps', '-a']), /^CONTAINER ID\s+IMAGE/);
      const images = await ok(['images']);
      assert.match(images, /^busybox\s+latest\s+[0-9a-f]{12}/m);
      assert.match(images, /^bb\s+1\s+[0-9a-f]{12}/m);
    });

    it('run --rm in the foreground: output, the exit status, and nothing left', async () => {
      const r = await docker(['run', '--rm', 'busybox', 'echo', 'hi']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'hi\n');
      const failed = await docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo oops >&2; exit 3']);
      assert.equal(failed.code, 3, failed.stderr);
      assert.equal(failed.stderr, 'oops\n');
      assert.equal(await ok(['ps', '-a', '-q']), '');
    });

    it('run -d, logs, logs -f, inspect, stop, rm', async () => {
      const id = (
        await ok(['run', '-d', '--name', 'web', 'bb:1', 'sh', '-c', 'echo ready; sleep 300'])
      ).trim();
      assert.match(id, /^[0-9a-f]{64}$/);
      assert.equal(
        await ok(['inspect', '-f', '{{.State.Running}} {{.Name}} {{.HostConfig.LogConfig.Type}}', 'web']),
        'true /web json-file\n',
      );
      await waitFor('the first line', async () =>
        (await ok(['logs', 'web'])) === 'ready\n' ? true : undefined,
      );
      assert.match(await ok(['ps']), /bb:1\s+"sh -c 'echo ready; sleep 300'"|web/);
      // `logs -f` of a container that exits ends with it.
      await ok(['run', '-d', '--name', 'short', 'busybox', 'sh', '-c', 'echo a; echo b >&2']);
      const follow = await docker(['logs', '-f', 'short']);
      assert.equal(follow.code, 0, follow.stderr);
      assert.equal(follow.stdout, 'a\n');
      assert.equal(follow.stderr, 'b\n');
      assert.equal(await ok(['stop', '-t', '1', 'web']), 'web\n');
      assert.equal(await ok(['inspect', '-f', '{{.State.Running}}', 'web']), 'false\n');
      assert.equal(await ok(['rm', 'web', 'short']), 'web\nshort\n');
      const gone = await docker(['inspect', 'web']);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /No such object|no such/i);
    });

    it('run -it through a pseudo-terminal: a tty inside, the exit status outside', async () => {
      // script(1) gives the CLI a terminal, as a user's shell would.
      const r = await run(
        'script',
        ['-qec', "docker run --rm -it busybox sh -c 'tty; echo typed-$((6*7)); exit 4'", '/dev/null'],
        { env, timeout: 60_000 },
      );
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stdout, /\/dev\/pts\/\d+\r?\n/);
      assert.match(r.stdout, /typed-42/);
    });

    it('run -d with -p, -e, -v and --network: port, logs --tail, and the published server', async () => {
      await ok(['network', 'create', 'pubnet']);
      await ok(['volume', 'create', 'pubvol']);
      await ok([
        'run',
        '-d',
        '--name',
        'pub',
        '-p',
        '127.0.0.1::80',
        '-e',
        'GREETING=hello-env',
        '-v',
        'pubvol:/www',
        '--network',
        'pubnet',
        'busybox',
        'sh',
        '-c',
        'echo one; echo two; echo "$GREETING" > /www/index.html; exec httpd -f -p 80 -h /www',
      ]);
      const port = (await ok(['port', 'pub', '80'])).trim();
      assert.match(port, /^127\.0\.0\.1:\d+$/);
      await waitFor('the published server', async () => {
        try {
          return (await httpGet(`http://${port}/`)) === 'hello-env\n' ? true : undefined;
        } catch {
          return undefined;
        }
      });
      assert.equal(await ok(['logs', '--tail', '1', 'pub']), 'two\n');
      // The volume kept what the container wrote; another container on the network reaches it by name.
      assert.equal(
        await ok(['run', '--rm', '--network', 'pubnet', 'busybox', 'wget', '-qO-', 'http://pub/']),
        'hello-env\n',
      );
      assert.equal(
        await ok(['run', '--rm', '-v', 'pubvol:/v', 'busybox', 'cat', '/v/index.html']),
        'hello-env\n',
      );
      await ok(['rm', '-f', 'pub']);
      await ok(['network', 'rm', 'pubnet']);
      await ok(['volume', 'rm', 'pubvol']);
    });

    it('network create, ls, rm and volume create, ls, rm', async () => {
      assert.match(await ok(['network', 'create', 'dnet']), /^[0-9a-f]{64}\n$/);
      assert.match(await ok(['network', 'ls']), /\sdnet\s+bridge\s+local/);
      assert.equal(await ok(['network', 'rm', 'dnet']), 'dnet\n');
      assert.doesNotMatch(await ok(['network', 'ls']), /dnet/);
      assert.equal(await ok(['volume', 'create', 'dvol']), 'dvol\n');
      assert.match(await ok(['volume', 'ls']), /local\s+dvol/);
      assert.equal(await ok(['volume', 'rm', 'dvol']), 'dvol\n');
      assert.doesNotMatch(await ok(['volume', 'ls']), /dvol/);
      // Labels are kept, shown and filtered on, as compose and Ryuk use them.
      await ok(['network', 'create', '--label', 'team=core', 'lnet']);
      await ok(['volume', 'create', '--label', 'team=core', 'lvol']);
      assert.equal(
        await ok(['network', 'ls', '-q', '--filter', 'label=team=core', '--format', '{{.Name}}']),
        'lnet\n',
      );
      assert.equal(await ok(['volume', 'ls', '-q', '--filter', 'label=team=core']), 'lvol\n');
      assert.equal(await ok(['network', 'inspect', '-f', '{{.Labels.team}}', 'lnet']), 'core\n');
      assert.equal(await ok(['volume', 'inspect', '-f', '{{.Labels.team}}', 'lvol']), 'core\n');
      assert.equal(await ok(['network', 'ls', '-q', '--filter', 'label=team=other']), '');
      await ok(['network', 'rm', 'lnet']);
      await ok(['volume', 'rm', 'lvol']);
    });

    it('events --since --until shows create, start and die', async () => {
      const since = String(Math.floor(Date.now() / 1000) - 1);
      await ok(['run', '--rm', '--name', 'evrun', 'busybox', 'true']);
      const until = String(Math.ceil(Date.now() / 1000) + 1);
      const out = await ok([
        'events',
        '--since',
        since,
        '--until',
        until,
        '--filter',
        'container=evrun',
        '--format',
        '{{.Type}} {{.Action}}',
      ]);
      assert.deepEqual(out.trim().split('\n'), [
        'container create',
        'container start',
        'container die',
        'container destroy',
      ]);
    });

    it('bad requests get Docker’s statuses and a message', async () => {
      const post = (p: string, body: string | Buffer) => request('POST', p, body);
      const malformed = await post('/v1.41/containers/create', '{"Image": ');
      assert.equal(malformed.status, 400);
      assert.match((JSON.parse(malformed.body) as { message: string }).message, /invalid JSON/);
      const unknown = await request('GET', '/v1.41/no/such/endpoint');
      assert.equal(unknown.status, 404);
      assert.deepEqual(JSON.parse(unknown.body), { message: 'page not found' });
      const big = await post('/containers/create', Buffer.alloc(2 << 20, 0x20));
      assert.equal(big.status, 413);
      assert.match(big.body, /larger than/);
      const missing = await post('/containers/create', JSON.stringify({ Image: 'no-such-image:1' }));
      assert.equal(missing.status, 404);
      const tooNew = await request('GET', '/v1.99/version');
      assert.equal(tooNew.status, 400);
      const ping = await request('HEAD', '/_ping');
      assert.equal(ping.status, 200);
      assert.equal(ping.headers['api-version'], '1.41');
      assert.equal(ping.headers['ostype'], 'linux');
      // Still serving after all of that.
      assert.equal((await request('GET', '/_ping')).body, 'OK');
    });

    it('when stopped, leaves no socket and no running container', async () => {
      await ok(['run', '-d', '--name', 'left', 'busybox', 'sleep', '300']);
      await ok(['rm', '-f', 'left']);
      service.child.kill('SIGTERM');
      const r = await service.done;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(fs.existsSync(socket), false);
      const ps = await s.ok(['ps', '-q']);
      assert.equal(ps.stdout, '');
    });
  },
);
