/**
 * `skiff system service`'s image, build, registry and auth endpoints, driven by the docker CLI
 * (client only; no dockerd runs) as a user of `docker` would: build, tag, images, history,
 * inspect, rmi, save and load, import, and login, push and pull against `skiff registry
 * serve` on 127.0.0.1 with htpasswd users. Raw requests cover what the CLI cannot express: a
 * pull that fails before any progress must be a real 404, and dockerode's gzip-compressed
 * build context.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { writeTar, type WriteEntry } from '../src/archive/tar-writer.js';
import { serveCli, type ServedCli } from '../src/registry/server/testing.js';
import { needs } from '../src/util/test-requirements.js';
import { SKIFF_BIN, busyboxTar, run, runOk, waitFor, type RunResult, type Sandbox } from './helpers.js';
import { apiRequest, startService, type ServiceSandbox } from './service-testing.js';

/** JSON lines of a progress stream. */
function jsonLines(body: string): Record<string, unknown>[] {
  return body
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A tar of `files` (name → content), made by skiff's own writer. */
async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const entries: WriteEntry[] = Object.entries(files).map(([name, text]) => ({
    entry: { name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: Buffer.byteLength(text), mtime: 0 },
    body: Buffer.from(text),
  }));
  const chunks: Buffer[] = [];
  for await (const chunk of writeTar(entries)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const DOCKERFILE = [
  'FROM busybox',
  'COPY hello.txt /hello.txt',
  'RUN cat /hello.txt && echo built > /built',
  'CMD ["cat", "/built"]',
  '',
].join('\n');

describe(
  'the docker CLI’s image, build and registry commands over skiff system service',
  { skip: needs('root', 'crun', 'conmon', 'ip', 'nft', 'docker', 'htpasswd') },
  () => {
    let svc: ServiceSandbox;
    let s: Sandbox;
    let socket: string;
    let registry: ServedCli;
    let env: Record<string, string>;
    let context: string;
    /** The image `docker build -t app` made, and the step images its output named. */
    let appId: string;
    let stepIds: string[];
    const docker = (args: string[], input?: Buffer): Promise<RunResult> =>
      run('docker', args, { env, timeout: 120_000, input });
    const ok = async (args: string[], input?: Buffer): Promise<string> => {
      const r = await docker(args, input);
      assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const request = (
      method: string,
      p: string,
      body?: string | Buffer,
      headers: Record<string, string> = {},
    ) => apiRequest(socket, method, p, body, headers);
    const contextDirs = () =>
      fs.readdirSync(path.join(s.root, 'tmp')).filter((n) => n.startsWith('context-'));

    before(async () => {
      svc = await startService('skiff-dockerapi-img-');
      ({ s, socket, env } = svc);
      context = path.join(s.dir, 'context');
      fs.mkdirSync(context);
      fs.writeFileSync(path.join(context, 'Dockerfile'), DOCKERFILE);
      fs.writeFileSync(path.join(context, 'hello.txt'), 'hello from the context\n');
      const htpasswd = path.join(s.dir, 'htpasswd');
      await runOk('htpasswd', ['-cbB', htpasswd, 'alice', 's3cret']);
      registry = await serveCli(SKIFF_BIN, path.join(s.dir, 'registry'), ['--htpasswd', htpasswd]);
    });

    after(async () => {
      await registry?.stop();
      await svc?.close();
    });

    it('build: each step, `Successfully built` and `Successfully tagged`; the image runs', async () => {
      const out = await ok(['build', '-t', 'app', '--label', 'team=core', context]);
      assert.match(out, /^Step 1\/5 : FROM busybox$/m);
      assert.match(out, /^Step 3\/5 : RUN cat \/hello.txt && echo built > \/built$/m);
      assert.match(out, /^hello from the context$/m, 'the RUN step’s output');
      assert.match(
        out,
        /^Step 5\/5 : LABEL team=core$/m,
        '--label is a last step, as in the classic builder',
      );
      const built = /^Successfully built ([0-9a-f]{12})$/m.exec(out);
      assert.ok(built, out);
      assert.match(out, /^Successfully tagged app:latest$/m);
      stepIds = [...out.matchAll(/^ ---> ([0-9a-f]{12})$/gm)].map((m) => m[1]!);
      assert.equal(stepIds.length, 5, out);
      assert.equal(stepIds.at(-1), built[1]);
      appId = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'app'])).trim();
      assert.equal(appId.slice(7, 19), built[1]);
      assert.equal(await ok(['image', 'inspect', '-f', '{{index .Config.Labels "team"}}', 'app']), 'core\n');
      assert.equal(await ok(['run', '--rm', 'app']), 'built\n');
    });

    it('build: a rebuild takes every step from the cache; -q and --iidfile give the ID', async () => {
      const again = await ok(['build', '-t', 'app', '--label', 'team=core', context]);
      assert.equal([...again.matchAll(/^ ---> Using cache$/gm)].length, 4, again);
      assert.match(again, new RegExp(`^Successfully built ${appId.slice(7, 19)}$`, 'm'));
      assert.equal(await ok(['build', '-q', '--label', 'team=core', context]), `${appId}\n`);
      const iidfile = path.join(s.dir, 'iid');
      // --iidfile (compose's way through the CLI) takes aux.ID from the stream.
      await ok(['build', '--iidfile', iidfile, '--label', 'team=core', context]);
      assert.equal(fs.readFileSync(iidfile, 'utf8'), appId);
    });

    it('build: a Dockerfile error and a failing RUN exit non-zero with their message', async () => {
      const bad = path.join(s.dir, 'bad');
      fs.mkdirSync(bad);
      fs.writeFileSync(path.join(bad, 'Dockerfile'), 'FROM busybox\nBOGUS something\n');
      const parse = await docker(['build', bad]);
      assert.notEqual(parse.code, 0);
      assert.match(parse.stderr, /Dockerfile:2: unknown instruction `BOGUS`/);
      fs.writeFileSync(path.join(bad, 'Dockerfile'), 'FROM busybox\nRUN echo failing; exit 3\n');
      const failed = await docker(['build', bad]);
      assert.notEqual(failed.code, 0);
      assert.match(failed.stdout, /^failing$/m);
      assert.match(failed.stderr, /Dockerfile:2: .*exited with status 3/);
      assert.deepEqual(contextDirs(), [], 'no context directory is left');
    });

    it('tag, images, inspect by name and by short ID, history with each ID on its row', async () => {
      assert.equal(await ok(['tag', 'app', '127.0.0.1:5000/team/app:1']), '');
      const images = await ok(['images']);
      assert.match(images, new RegExp(`^app\\s+latest\\s+${appId.slice(7, 19)}`, 'm'));
      assert.match(images, new RegExp(`^127\\.0\\.0\\.1:5000/team/app\\s+1\\s+${appId.slice(7, 19)}`, 'm'));
      assert.match(images, /^busybox\s+latest\s/m);
      // docker-py looks an image up by the 12 digits the build printed.
      assert.equal(
        await ok(['image', 'inspect', '-f', '{{.Id}} {{json .RepoTags}}', appId.slice(7, 19)]),
        `${appId} ["127.0.0.1:5000/team/app:1","app:latest"]\n`,
      );
      assert.equal(
        await ok(['image', 'inspect', '-f', '{{json .Config.Cmd}}', '127.0.0.1:5000/team/app:1']),
        '["cat","/built"]\n',
      );
      const busybox = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).trim();
      const history = (await ok(['history', '--format', '{{.ID}}|{{.CreatedBy}}', 'app'])).trim().split('\n');
      // Newest first: the LABEL, CMD, RUN and COPY steps' images, then busybox's import.
      assert.deepEqual(
        history.map((row) => row.split('|')[0]),
        [...stepIds.slice(1).reverse(), busybox.slice(7, 19)],
      );
      assert.match(history[2]!, /\|RUN cat \/hello.txt/);
      assert.equal(await ok(['tag', 'app', 'app:2']), '');
    });

    it('rmi: 404 for a missing image, 409 while a container uses it, then untag and delete', async () => {
      const missing = await docker(['rmi', 'no-such-image:1']);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no such image/i);
      await ok(['import', busyboxTar(), 'only:1']);
      await ok(['create', '--name', 'user', 'only:1', 'true']);
      const inUse = await docker(['rmi', 'only:1']);
      assert.equal(inUse.code, 1);
      assert.match(inUse.stderr, /container `user` uses it/);
      const status = await request('DELETE', '/v1.41/images/only:1');
      assert.equal(status.status, 409);
      await ok(['rm', 'user']);
      const removed = await ok(['rmi', 'only:1']);
      assert.match(removed, /^Untagged: only:1\nDeleted: sha256:[0-9a-f]{64}\n/);
      // One of two tags goes; the image stays.
      assert.equal(await ok(['rmi', 'app:2']), 'Untagged: app:2\n');
      assert.equal((await ok(['image', 'inspect', '-f', '{{.Id}}', 'app'])).trim(), appId);
    });

    it('save | load round trip', async () => {
      const archive = await docker(['save', 'app']);
      assert.equal(archive.code, 0, archive.stderr);
      assert.ok(archive.stdoutBytes.length > 1024);
      await ok(['rmi', 'app', '127.0.0.1:5000/team/app:1']);
      assert.equal((await docker(['image', 'inspect', 'app'])).code, 1);
      assert.equal(await ok(['load'], archive.stdoutBytes), 'Loaded image: app:latest\n');
      assert.equal((await ok(['image', 'inspect', '-f', '{{.Id}}', 'app'])).trim(), appId);
      assert.equal(await ok(['run', '--rm', 'app']), 'built\n');
      // An archive refused at its first bytes: the answer still arrives, though the body has not.
      const garbage = await request('POST', '/images/load', Buffer.alloc(8 << 20, 'not a tar '));
      assert.equal(garbage.status, 400, garbage.body);
      assert.match((JSON.parse(garbage.body) as { message: string }).message, /not a tar archive/);
    });

    it('import: a root file system tar with a CMD becomes a runnable image', async () => {
      const out = await ok(['import', '--change', 'CMD ["echo", "imported"]', busyboxTar(), 'imp:1']);
      assert.match(out, /^sha256:[0-9a-f]{64}\n$/);
      assert.equal((await ok(['image', 'inspect', '-f', '{{.Id}}', 'imp:1'])).trim(), out.trim());
      assert.equal(await ok(['run', '--rm', 'imp:1']), 'imported\n');
    });

    it('login, push, rmi and pull against skiff registry serve on 127.0.0.1 (plain HTTP)', async () => {
      const host = registry.host;
      const wrong = await docker(['login', host, '-u', 'alice', '--password-stdin'], Buffer.from('wrong\n'));
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /incorrect username or password/);
      const unauthorized = await request(
        'POST',
        '/v1.41/auth',
        JSON.stringify({ username: 'alice', password: 'wrong', serveraddress: host }),
      );
      assert.equal(unauthorized.status, 401);
      assert.match((JSON.parse(unauthorized.body) as { message: string }).message, /incorrect/);
      const login = await docker(['login', host, '-u', 'alice', '--password-stdin'], Buffer.from('s3cret\n'));
      assert.equal(login.code, 0, login.stderr);
      assert.match(login.stdout, /Login Succeeded/);

      const name = `${host}/team/app:1`;
      await ok(['tag', 'app', name]);
      const pushed = await ok(['push', name]);
      assert.match(pushed, new RegExp(`^The push refers to repository \\[${host}/team/app\\]$`, 'm'));
      assert.match(pushed, /^[0-9a-f]{12}: Pushed$/m);
      const digest = /^1: digest: (sha256:[0-9a-f]{64}) size: \d+$/m.exec(pushed);
      assert.ok(digest, pushed);

      // Without credentials the registry refuses: the error comes inside the 200's stream.
      const anonymous = await request('POST', `/v1.41/images/${host}/team/app/push?tag=1`);
      assert.equal(anonymous.status, 200);
      const last = jsonLines(anonymous.body).at(-1)!;
      assert.match(String(last['error']), /authentication required|unauthorized/i);
      assert.deepEqual(last['errorDetail'], { message: last['error'] });

      await ok(['rmi', name]);
      const pulled = await ok(['pull', name]);
      assert.match(pulled, /^1: Pulling from team\/app$/m);
      assert.match(pulled, new RegExp(`^Digest: ${digest[1]}$`, 'm'));
      assert.match(pulled, new RegExp(`^Status: Downloaded newer image for ${host}/team/app:1$`, 'm'));
      assert.match(await ok(['pull', name]), /^Status: Image is up to date for /m);
      assert.equal(await ok(['run', '--rm', name]), 'built\n');

      const absent = await docker(['pull', `${host}/team/app:nope`]);
      assert.equal(absent.code, 1);
      assert.match(absent.stderr, /team\/app:nope.*unknown to the registry/);
      // What testcontainers relies on: no progress yet, so a real status, not a 200.
      const auth = Buffer.from(
        JSON.stringify({ username: 'alice', password: 's3cret', serveraddress: host }),
      ).toString('base64url');
      const raw = await request('POST', `/images/create?fromImage=${host}/team/app&tag=nope`, undefined, {
        'X-Registry-Auth': auth,
      });
      assert.equal(raw.status, 404);
      assert.match((JSON.parse(raw.body) as { message: string }).message, /team\/app:nope/);
    });

    it('POST /build with a gzip-compressed context (as dockerode sends it)', async () => {
      const tar = await tarOf({
        Dockerfile: 'FROM busybox\nCOPY note /note\nCMD ["cat", "/note"]\n',
        note: 'gz\n',
      });
      const answer = await request(
        'POST',
        '/build?t=gz:1&labels=%7B%22a%22%3A%22%24b%27c%22%7D',
        zlib.gzipSync(tar),
        {
          'Content-Type': 'application/tar',
        },
      );
      assert.equal(answer.status, 200, answer.body);
      const lines = jsonLines(answer.body);
      const id = lines.find((l) => l['aux'] !== undefined)?.['aux'] as { ID: string } | undefined;
      assert.match(id?.ID ?? '', /^sha256:[0-9a-f]{64}$/);
      const stream = lines.map((l) => l['stream'] ?? '').join('');
      assert.match(stream, new RegExp(`Successfully built ${id!.ID.slice(7, 19)}\n`));
      assert.match(stream, /Successfully tagged gz:1\n/);
      assert.equal(await ok(['run', '--rm', 'gz:1']), 'gz\n');
      // Labels are taken literally: no `$` expansion, quotes kept.
      assert.equal(await ok(['image', 'inspect', '-f', '{{index .Config.Labels "a"}}', 'gz:1']), "$b'c\n");
    });

    it('POST /build refuses a context entry outside its root, and leaves no context behind', async () => {
      const hostile = await tarOf({ Dockerfile: 'FROM busybox\n', '../escaped': 'x' });
      const answer = await request('POST', '/build?t=hostile:1', hostile);
      assert.equal(answer.status, 400, answer.body);
      assert.match((JSON.parse(answer.body) as { message: string }).message, /escapes/);
      assert.equal(fs.existsSync(path.join(s.root, 'tmp', 'escaped')), false);
      assert.deepEqual(contextDirs(), []);

      // A client that goes away half way through its upload: the context directory goes too.
      const header = (await tarOf({ big: 'x'.repeat(1 << 20) })).subarray(0, 512 + 4096);
      const req = http.request({ socketPath: socket, method: 'POST', path: '/build?t=gone:1' });
      req.on('error', () => {});
      req.write(header);
      await waitFor('the context directory', () => (contextDirs().length > 0 ? true : undefined));
      req.destroy();
      await waitFor('the context directory to be removed', () =>
        contextDirs().length === 0 ? true : undefined,
      );
      assert.equal((await request('GET', '/_ping')).body, 'OK');
    });
  },
);
