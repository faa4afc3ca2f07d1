/**
 * `skiff registry serve` end to end: the built CLI as the server, skopeo and podman as the
 * clients that judge it (auth and TLS in registry-server-auth, crashes and gc in
 * registry-server-gc).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, after, before } from 'node:test';
import { fileDigest, imageArchive, raw, serveCli, type ServedCli } from '../src/registry/server/testing.js';
import {
  busyboxTar,
  makeSandbox,
  oneLineError,
  podman,
  SKIFF_BIN,
  skiff,
  type Sandbox,
  runOk,
} from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

describe('registry serve with skopeo and podman', { skip: needs('root', 'skopeo', 'podman') }, () => {
  let s: Sandbox;
  let reg: ServedCli;
  let archive: string;
  let manifest: string;
  const env = (): Record<string, string> => ({ TMPDIR: s.dir });

  before(async () => {
    s = makeSandbox('skiff-reg-e2e-');
    ({ archive, manifest } = await imageArchive((a) => s.ok(a), s.dir, busyboxTar()));
    reg = await serveCli(SKIFF_BIN, path.join(s.dir, 'reg'));
  });
  after(async () => {
    await reg?.stop();
    s?.cleanup();
  });

  it('skopeo copies an image there and back with the same bytes', async () => {
    await runOk(
      'skopeo',
      ['copy', '--dest-tls-verify=false', `oci-archive:${archive}`, `docker://${reg.host}/team/app:v1`],
      env(),
    );
    const info = JSON.parse(
      await runOk('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/team/app:v1`], env()),
    ) as {
      Digest: string;
      RepoTags: string[];
    };
    assert.equal(info.Digest, manifest);
    assert.deepEqual(info.RepoTags, ['v1']);
    const back = path.join(s.dir, 'back');
    await runOk(
      'skopeo',
      ['copy', '--src-tls-verify=false', `docker://${reg.host}/team/app:v1`, `dir:${back}`],
      env(),
    );
    assert.equal(fileDigest(path.join(back, 'manifest.json')), manifest);
    const m = JSON.parse(fs.readFileSync(path.join(back, 'manifest.json'), 'utf8')) as {
      config: { digest: string };
      layers: { digest: string }[];
    };
    for (const d of [m.config.digest, ...m.layers.map((l) => l.digest)])
      assert.equal(fileDigest(path.join(back, d.slice(7))), d);
    const tags = await raw(reg.url, 'GET', '/v2/team/app/tags/list');
    assert.deepEqual(tags.json(), { name: 'team/app', tags: ['v1'] });
  });

  it('podman pushes and pulls the image with the same ID', async () => {
    const p = podman(path.join(s.dir, 'podman'));
    try {
      const id = (await p.ok(['pull', '-q', `oci-archive:${archive}`])).stdout.trim();
      await p.ok(['push', '--tls-verify=false', id, `docker://${reg.host}/pod/app:v1`]);
      await p.ok(['rmi', '-f', id]);
      await p.ok(['pull', '--tls-verify=false', `${reg.host}/pod/app:v1`]);
      const got = (
        await p.ok(['image', 'inspect', '--format', '{{.Id}}', `${reg.host}/pod/app:v1`])
      ).stdout.trim();
      assert.equal(got, id);
    } finally {
      await p.cleanup();
    }
  });
});

describe('registry serve --workers', { skip: needs('root', 'skopeo') }, () => {
  it('two processes on one port serve a skopeo round trip and stop on SIGTERM', async () => {
    const s = makeSandbox('skiff-reg-workers-');
    try {
      const { archive, manifest } = await imageArchive((a) => s.ok(a), s.dir, busyboxTar());
      const reg = await serveCli(SKIFF_BIN, path.join(s.dir, 'reg'), ['--workers', '2']);
      try {
        const env = { TMPDIR: s.dir };
        for (const tag of ['v1', 'v2'])
          await runOk(
            'skopeo',
            [
              'copy',
              '--dest-tls-verify=false',
              `oci-archive:${archive}`,
              `docker://${reg.host}/w/app:${tag}`,
            ],
            env,
          );
        const back = path.join(s.dir, 'back');
        await runOk(
          'skopeo',
          ['copy', '--src-tls-verify=false', `docker://${reg.host}/w/app:v2`, `dir:${back}`],
          env,
        );
        assert.equal(fileDigest(path.join(back, 'manifest.json')), manifest);
      } finally {
        assert.equal(await reg.stop(), '');
      }
    } finally {
      s.cleanup();
    }
  });
});

describe('registry serve logging', () => {
  it('is silent on stderr without --log, one line per request with it', async () => {
    const s = makeSandbox('skiff-reg-log-');
    try {
      const quiet = await serveCli(SKIFF_BIN, path.join(s.dir, 'reg'));
      await raw(quiet.url, 'GET', '/v2/');
      await raw(quiet.url, 'GET', '/v2/x/manifests/nope');
      assert.equal(await quiet.stop(), '');
      const loud = await serveCli(SKIFF_BIN, path.join(s.dir, 'reg'), ['--log']);
      await raw(loud.url, 'GET', '/v2/');
      await raw(loud.url, 'GET', '/v2/x/manifests/nope');
      const lines = (await loud.stop()).split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 2, lines.join('\n'));
      assert.match(lines[0]!, /^GET \/v2\/ 200 \d+ms$/);
      assert.match(lines[1]!, /^GET \/v2\/x\/manifests\/nope 404 \d+ms$/);
    } finally {
      s.cleanup();
    }
  });
});

describe('registry serve size limits', () => {
  it('--max-upload-size and --repo-quota refuse what passes them; a bad size is one line', async () => {
    const s = makeSandbox('skiff-reg-quota-');
    try {
      const reg = await serveCli(SKIFF_BIN, path.join(s.dir, 'reg'), [
        '--max-upload-size',
        '1KiB',
        '--repo-quota',
        '3k',
      ]);
      const push = (name: string, data: Buffer) =>
        raw(
          reg.url,
          'POST',
          `/v2/${name}/blobs/uploads/?digest=sha256:${createHash('sha256').update(data).digest('hex')}`,
          {
            body: data,
          },
        );
      assert.equal((await push('q/app', Buffer.alloc(2048, 1))).status, 413);
      for (const fill of [1, 2, 3]) assert.equal((await push('q/app', Buffer.alloc(1000, fill))).status, 201);
      const over = await push('q/app', Buffer.alloc(1000, 4));
      assert.equal(over.status, 413);
      assert.match(over.body.toString(), /"code":"DENIED".*its quota/);
      assert.equal(await reg.stop(), '');
      const bad = await skiff([
        'registry',
        'serve',
        '--root',
        path.join(s.dir, 'reg'),
        '--repo-quota',
        'plenty',
      ]);
      assert.match(oneLineError(bad.stderr), /^Error: registry serve: --repo-quota `plenty`: not a size/);
    } finally {
      s.cleanup();
    }
  });
});

describe('registry CLI errors', () => {
  it('bad invocations exit non-zero with one line naming the input', async () => {
    const noRoot = await skiff(['registry', 'serve', '--addr', '127.0.0.1:0']);
    assert.notEqual(noRoot.code, 0);
    assert.match(oneLineError(noRoot.stderr), /--root/);
    const badAddr = await skiff(['registry', 'serve', '--addr', 'nowhere', '--root', '/tmp/x-unused']);
    assert.match(oneLineError(badAddr.stderr), /`nowhere`/);
    const sub = await skiff(['registry', 'frobnicate']);
    assert.match(oneLineError(sub.stderr), /`frobnicate`/);
    const missing = await skiff([
      'registry',
      'serve',
      '--addr',
      '127.0.0.1:0',
      '--root',
      '/tmp/x-unused',
      '--htpasswd',
      '/no/such/file',
    ]);
    assert.match(oneLineError(missing.stderr), /`\/no\/such\/file`/);
    const gcMissing = await skiff(['registry', 'gc', '--root', '/no/such/registry']);
    assert.match(oneLineError(gcMissing.stderr), /`\/no\/such\/registry`/);
    const notRegistry = await skiff(['registry', 'gc', '--root', '/tmp']);
    assert.match(oneLineError(notRegistry.stderr), /`\/tmp`: not a registry root/);
    const grace = await skiff(['registry', 'gc', '--root', '/tmp', '--grace', 'soon']);
    assert.match(oneLineError(grace.stderr), /`soon`/);
    assert.ok(!fs.existsSync('/tmp/x-unused'));
  });
});
