/**
 * The registry client end to end: the built CLI against Debian's CNCF distribution registry on
 * loopback, with skopeo as the outside judge of what skiff pushes and as the source of an image
 * skiff pulls.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serveCli, type ServedCli } from '../src/registry/server/testing.js';
import {
  SKIFF_BIN,
  busyboxTar,
  makeSandbox,
  oneLineError,
  run,
  sha256,
  storeSnapshot,
  snapshotDiff,
  type Sandbox,
} from './helpers.js';
import {
  appArchive,
  registryRequest,
  startCuttingProxy,
  startRegistry,
  uploadBlob,
  type Registry,
} from './registry-client-testing.js';
import { needs } from '../src/util/test-requirements.js';

const skip = needs('root', 'docker-registry', 'skopeo', 'htpasswd', 'openssl');

interface Inspect {
  Id: string;
  Manifest: { digest: string; content: { layers: { digest: string; size: number }[] } };
}

async function inspect(s: Sandbox, name: string): Promise<Inspect> {
  return (JSON.parse((await s.ok(['inspect', '--type', 'image', name])).stdout) as Inspect[])[0]!;
}

/** "(N bytes)" from push's or pull's summary line. */
function bytesMoved(stdout: string): number {
  const m = /\((\d+) bytes\)/.exec(stdout);
  assert.ok(m, `a byte count in:\n${stdout}`);
  return Number(m[1]);
}

describe('registry client', { skip }, () => {
  let tmp: string;
  let registry: Registry;
  let pusher: Sandbox;
  const stores: Sandbox[] = [];
  const fresh = (): Sandbox => {
    const s = makeSandbox('skiff-rc-');
    stores.push(s);
    return s;
  };

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-rc-reg-'));
    registry = await startRegistry(path.join(tmp, 'plain'));
    pusher = fresh();
    await pusher.ok(['import', busyboxTar(), `${registry.host}/team/base:1`]);
  });

  after(async () => {
    await registry?.stop();
    for (const s of stores) s.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('push, then pull into an empty store: the same manifest and config, byte for byte', async () => {
    const name = `${registry.host}/team/base:1`;
    const pushed = await pusher.ok(['push', name]);
    const last = pushed.stdout.trim().split('\n').pop()!;
    const m = /^1: digest: (sha256:[0-9a-f]{64}) size: (\d+)$/.exec(last);
    assert.ok(m, `Docker-like last line, got ${last}`);
    const digest = m[1]!;
    assert.ok(bytesMoved(pushed.stdout) > 500_000, 'the layer was uploaded');
    const local = await inspect(pusher, name);
    assert.equal(local.Manifest.digest, digest, 'the pushed tag now names the pushed manifest');

    const puller = fresh();
    const pulled = await puller.ok(['pull', name]);
    assert.match(pulled.stdout, new RegExp(`Digest: ${digest}`));
    const remote = await inspect(puller, name);
    assert.equal(remote.Manifest.digest, digest);
    assert.equal(remote.Id, local.Id);
    const served = await registryRequest(registry.host, 'GET', `/v2/team/base/manifests/1`, undefined, {
      Accept: 'application/vnd.oci.image.manifest.v1+json',
    });
    const kept = fs.readFileSync(path.join(puller.root, 'blobs', 'sha256', digest.slice(7)));
    assert.ok(kept.equals(served.body), 'the stored manifest is the registry bytes');
    assert.equal(
      sha256(fs.readFileSync(path.join(puller.root, 'blobs', 'sha256', remote.Id.slice(7)))),
      remote.Id,
    );
    assert.deepEqual((await puller.check()).problems, []);

    const quiet = await puller.ok(['pull', '-q', name]);
    assert.equal(quiet.stdout, `${name}\n`);
    const quietPush = await pusher.ok(['push', '--quiet', name]);
    assert.equal(quietPush.stdout, `${digest}\n`);
  });

  test('a re-push uploads nothing; a new layer is the only thing uploaded, its base mounted', async () => {
    const base = `${registry.host}/team/base:1`;
    const again = await pusher.ok(['push', base]);
    assert.equal(bytesMoved(again.stdout), 0);
    assert.match(again.stdout, /Layer already exists/);

    const app = `${registry.host}/team/app:v2`;
    const archive = appArchive(tmp, busyboxTar(), app, {
      'hello.txt': 'hello from the app layer\n'.repeat(1000),
    });
    await pusher.ok(['load', '-i', archive]);
    const pushed = await pusher.ok(['push', app]);
    assert.match(pushed.stdout, /Mounted from team\/base/);
    const image = await inspect(pusher, app);
    const newLayer = image.Manifest.content.layers[1]!;
    const configSize = fs.statSync(path.join(pusher.root, 'blobs', 'sha256', image.Id.slice(7))).size;
    assert.equal(bytesMoved(pushed.stdout), newLayer.size + configSize, 'only the new layer and the config');
    assert.equal(bytesMoved((await pusher.ok(['push', app])).stdout), 0);

    // skopeo, an outside client, reads what skiff pushed.
    const judged = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${app}`]);
    assert.equal(judged.code, 0, judged.stderr);
    const info = JSON.parse(judged.stdout) as { Digest: string; Layers: string[] };
    assert.equal(info.Digest, image.Manifest.digest);
    assert.deepEqual(
      info.Layers,
      image.Manifest.content.layers.map((l) => l.digest),
    );
  });

  test('a pull with the base present downloads only the new layer', async () => {
    const puller = fresh();
    await puller.ok(['pull', `${registry.host}/team/base:1`]);
    const pulled = await puller.ok(['pull', `${registry.host}/team/app:v2`]);
    const image = await inspect(pusher, `${registry.host}/team/app:v2`);
    assert.equal(bytesMoved(pulled.stdout), image.Manifest.content.layers[1]!.size);
    assert.match(pulled.stdout, /Already exists/);
    assert.equal(
      (await inspect(puller, `${registry.host}/team/app:v2`)).Manifest.digest,
      image.Manifest.digest,
    );
    assert.deepEqual((await puller.check()).problems, []);
  });

  test('an image skopeo pushed from a skiff save archive pulls with the same digests', async () => {
    const archive = path.join(tmp, 'saved.tar');
    await pusher.ok(['save', '-o', archive, `${registry.host}/team/app:v2`]);
    const target = `docker://${registry.host}/other/app:s`;
    const copied = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci-archive:${archive}`, target]);
    assert.equal(copied.code, 0, copied.stderr);
    const judged = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', target])).stdout) as {
      Digest: string;
    };
    const puller = fresh();
    const pulled = await puller.ok(['pull', `${registry.host}/other/app:s`]);
    assert.match(pulled.stdout, new RegExp(`Digest: ${judged.Digest}`));
    const image = await inspect(puller, `${registry.host}/other/app:s`);
    assert.equal(image.Manifest.digest, judged.Digest);
    assert.equal(image.Id, (await inspect(pusher, `${registry.host}/team/app:v2`)).Id);
    assert.deepEqual((await puller.check()).problems, []);
  });

  test('an index with two platforms: --platform picks one, the default the host', async () => {
    const app = await inspect(pusher, `${registry.host}/team/app:v2`);
    const amd64 = (
      await registryRequest(registry.host, 'GET', '/v2/team/app/manifests/v2', undefined, {
        Accept: 'application/vnd.oci.image.manifest.v1+json',
      })
    ).body;
    const layer = app.Manifest.content.layers[0]!;
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'arm64',
        variant: 'v8',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [sha256(fs.readFileSync(busyboxTar()))] },
      }),
    );
    const configDigest = await uploadBlob(registry.host, 'team/app', config);
    const arm64 = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: configDigest,
          size: config.length,
        },
        layers: [
          {
            mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
            digest: layer.digest,
            size: layer.size,
          },
        ],
      }),
    );
    const put = await registryRequest(
      registry.host,
      'PUT',
      `/v2/team/app/manifests/${sha256(arm64)}`,
      arm64,
      {
        'Content-Type': 'application/vnd.oci.image.manifest.v1+json',
      },
    );
    assert.equal(put.status, 201, put.body.toString());
    const entry = (bytes: Buffer, architecture: string, variant?: string) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha256(bytes),
      size: bytes.length,
      platform: { os: 'linux', architecture, ...(variant ? { variant } : {}) },
    });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [entry(arm64, 'arm64', 'v8'), entry(amd64, 'amd64')],
      }),
    );
    const putIndex = await registryRequest(registry.host, 'PUT', '/v2/team/app/manifests/multi', index, {
      'Content-Type': 'application/vnd.oci.image.index.v1+json',
    });
    assert.equal(putIndex.status, 201, putIndex.body.toString());

    const puller = fresh();
    const arm = await puller.ok(['pull', '--platform', 'linux/arm64', `${registry.host}/team/app:multi`]);
    assert.match(arm.stdout, new RegExp(`Digest: ${sha256(index)}`));
    assert.equal((await inspect(puller, `${registry.host}/team/app:multi`)).Id, configDigest);
    const host = fresh();
    await host.ok(['pull', `${registry.host}/team/app:multi`]);
    assert.equal((await inspect(host, `${registry.host}/team/app:multi`)).Id, app.Id);
    const none = await host.skiff(['pull', '--platform', 'linux/s390x', `${registry.host}/team/app:multi`]);
    assert.notEqual(none.code, 0);
    assert.match(
      oneLineError(none.stderr),
      /no manifest for linux\/s390x \(the index offers linux\/arm64\/v8, linux\/amd64\)/,
    );
    const single = await host.skiff(['pull', '--platform', 'linux/arm64', `${registry.host}/team/base:1`]);
    assert.notEqual(single.code, 0);
    assert.match(oneLineError(single.stderr), /the image is for linux\/amd64, not linux\/arm64/);
  });

  test('a missing tag or registry: one clear line, non-zero exit, the store unchanged', async () => {
    const s = fresh();
    await s.ok(['import', busyboxTar(), 'local:1']);
    const before = storeSnapshot(s.root);
    const missing = await s.skiff(['pull', `${registry.host}/team/base:nope`]);
    assert.equal(missing.code, 1);
    assert.match(
      oneLineError(missing.stderr),
      new RegExp(`pull \`${registry.host}/team/base:nope\`: manifest unknown`),
    );
    const refused = await s.skiff(['pull', '127.0.0.1:1/team/base:1']);
    assert.equal(refused.code, 1);
    assert.match(
      oneLineError(refused.stderr),
      /pull `127\.0\.0\.1:1\/team\/base:1`: connect to 127\.0\.0\.1:1: connection refused/,
    );
    const noImage = await s.skiff(['push', `${registry.host}/team/none:1`]);
    assert.equal(noImage.code, 1);
    assert.match(oneLineError(noImage.stderr), /no such image/);
    assert.deepEqual(snapshotDiff(before, storeSnapshot(s.root)), []);
    const report = await s.check();
    assert.deepEqual(report.problems, []);
    assert.equal(report.garbage.tempFiles, 0);
  });

  test('a connection dropped mid-blob is resumed with a Range request', async () => {
    const app = await inspect(pusher, `${registry.host}/team/base:1`);
    const layer = app.Manifest.content.layers[0]!;
    const proxy = await startCuttingProxy(registry.host, () => layer.digest, 300_000);
    try {
      const s = fresh();
      const pulled = await s.ok(['pull', `${proxy.host}/team/base:1`]);
      assert.equal(proxy.cuts, 1, 'the proxy cut the download once');
      assert.equal(proxy.ranges.length, 1, 'one resumed request');
      const from = Number(/^bytes=(\d+)-$/.exec(proxy.ranges[0]!)?.[1]);
      assert.ok(from > 0 && from <= 300_000, `resumed from what arrived, not from 0: ${proxy.ranges[0]}`);
      assert.match(pulled.stdout, /Retrying|Pull complete/);
      assert.equal((await inspect(s, `${proxy.host}/team/base:1`)).Manifest.digest, app.Manifest.digest);
      assert.deepEqual((await s.check()).problems, []);
    } finally {
      await proxy.close();
    }
  });

  test('a streamed upload cut midway falls back to a resumable one and succeeds', async () => {
    const proxy = await startCuttingProxy(registry.host, () => undefined, 200_000, 'cut-upload');
    try {
      const s = fresh();
      const name = `${proxy.host}/cut/app:1`;
      await s.ok(['import', busyboxTar(), name]);
      const pushed = await s.ok(['push', name]);
      assert.equal(proxy.cuts, 1, 'the proxy cut the streamed upload');
      assert.match(pushed.stdout, /Retrying: streamed upload failed/);
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)![1]!;
      const puller = fresh();
      await puller.ok(['pull', `${registry.host}/cut/app:1`]);
      assert.equal((await inspect(puller, `${registry.host}/cut/app:1`)).Manifest.digest, digest);
      assert.deepEqual((await s.check()).problems, []);
    } finally {
      await proxy.close();
    }
  });

  test('a blob whose bytes do not match its digest: the pull fails whole, the store unchanged', async () => {
    const app = await inspect(pusher, `${registry.host}/team/base:1`);
    const layer = app.Manifest.content.layers[0]!;
    const proxy = await startCuttingProxy(registry.host, () => layer.digest, 500_000, 'corrupt');
    try {
      const s = fresh();
      await s.ok(['import', busyboxTar(), 'local:1']);
      const before = storeSnapshot(s.root);
      const r = await s.skiff(['pull', `${proxy.host}/team/base:1`]);
      assert.equal(r.code, 1);
      assert.match(
        oneLineError(r.stderr),
        new RegExp(`pull \`${proxy.host}/team/base:1\`: fetch blob \`${layer.digest}\` .*: digest mismatch`),
      );
      assert.ok(proxy.cuts >= 1);
      assert.deepEqual(snapshotDiff(before, storeSnapshot(s.root)), []);
      const report = await s.check();
      assert.deepEqual(report.problems, []);
      assert.deepEqual(report.garbage, { tempFiles: 0, unreferencedBlobs: 0, unreferencedLayers: 0 });
    } finally {
      await proxy.close();
    }
  });
});

describe('registry client with TLS and htpasswd', { skip }, () => {
  let tmp: string;
  let registry: Registry;
  let s: Sandbox;
  let env: Record<string, string>;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-rc-auth-'));
    registry = await startRegistry(path.join(tmp, 'auth'), {
      htpasswd: { user: 'alice', password: 'secret' },
      tls: true,
    });
    s = makeSandbox('skiff-rc-');
    env = { DOCKER_CONFIG: path.join(tmp, 'docker'), SKIFF_EXTRA_CA_CERTS: registry.ca! };
    await s.ok(['import', busyboxTar(), `${registry.host}/team/base:1`]);
  });

  after(async () => {
    await registry?.stop();
    s?.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('login checks the password, stores it, push and pull use it; logout removes it', async () => {
    const config = path.join(env.DOCKER_CONFIG!, 'config.json');
    const wrong = await s.skiff(['login', '-u', 'alice', '--password-stdin', registry.host], {
      env,
      input: 'wrong\n',
    });
    assert.equal(wrong.code, 1);
    assert.match(
      oneLineError(wrong.stderr),
      /login to 127\.0\.0\.1:\d+: unauthorized: incorrect username or password/,
    );
    assert.equal(fs.existsSync(config), false, 'nothing stored');

    const anonymous = await s.skiff(['push', `${registry.host}/team/base:1`], { env });
    assert.equal(anonymous.code, 1);
    assert.match(oneLineError(anonymous.stderr), /unauthorized: authentication required/);

    const ok = await s.ok(['login', '-u', 'alice', '--password-stdin', registry.host], {
      env,
      input: 'secret\n',
    });
    assert.match(ok.stdout, /Login Succeeded/);
    const stored = JSON.parse(fs.readFileSync(config, 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.equal(Buffer.from(stored.auths[registry.host]!.auth, 'base64').toString(), 'alice:secret');

    await s.ok(['push', `${registry.host}/team/base:1`], { env });
    const puller = makeSandbox('skiff-rc-');
    try {
      await puller.ok(['pull', `${registry.host}/team/base:1`], { env });
      const untrusted = await puller.skiff(['pull', `${registry.host}/team/base:1`], {
        env: { ...env, SKIFF_EXTRA_CA_CERTS: '' },
      });
      assert.equal(untrusted.code, 1, 'an unknown certificate is refused');
      assert.match(oneLineError(untrusted.stderr), /certificate/);
      await puller.ok(['pull', '--tls-verify=false', `${registry.host}/team/base:1`], {
        env: { ...env, SKIFF_EXTRA_CA_CERTS: '' },
      });
    } finally {
      puller.cleanup();
    }

    const out = await s.ok(['logout', registry.host], { env });
    assert.match(out.stdout, /Removing login credentials/);
    const after = JSON.parse(fs.readFileSync(config, 'utf8')) as { auths: Record<string, unknown> };
    assert.deepEqual(after.auths, {});
  });
});

describe(
  'registry client with bearer tokens (skiff registry serve --token-issuer)',
  { skip: needs('root', 'htpasswd') },
  () => {
    let tmp: string;
    let server: ServedCli | undefined;
    let host: string;
    let s: Sandbox;
    let env: Record<string, string>;

    before(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-rc-bearer-'));
      const htpasswd = path.join(tmp, 'htpasswd');
      const made = await run('htpasswd', ['-Bbn', 'alice', 'secret']);
      fs.writeFileSync(htpasswd, made.stdout);
      server = await serveCli(SKIFF_BIN, path.join(tmp, 'registry'), [
        '--htpasswd',
        htpasswd,
        '--token-issuer',
      ]);
      host = server.host;
      s = makeSandbox('skiff-rc-');
      env = { DOCKER_CONFIG: path.join(tmp, 'docker') };
      await s.ok(['import', busyboxTar(), `${host}/team/base:1`]);
    });

    after(async () => {
      await server?.stop();
      s?.cleanup();
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    test('login gets a token with the password; push, mount and pull use tokens per scope', async () => {
      const wrong = await s.skiff(['login', '-u', 'alice', '-p', 'nope', host], { env });
      assert.equal(wrong.code, 1);
      assert.match(oneLineError(wrong.stderr), /incorrect username or password/);
      const anonymous = await s.skiff(['push', `${host}/team/base:1`], { env });
      assert.equal(anonymous.code, 1);
      assert.match(oneLineError(anonymous.stderr), /authentication required/);

      await s.ok(['login', '-u', 'alice', '--password-stdin', host], { env, input: 'secret' });
      await s.ok(['push', `${host}/team/base:1`], { env });
      await s.ok(['tag', `${host}/team/base:1`, `${host}/team/copy:1`]);
      const mounted = await s.ok(['push', `${host}/team/copy:1`], { env });
      assert.match(mounted.stdout, /Mounted from team\/base/);
      assert.equal(bytesMoved(mounted.stdout), 0);
      const puller = makeSandbox('skiff-rc-');
      try {
        await puller.ok(['pull', `${host}/team/copy:1`], { env });
        assert.equal(
          (await inspect(puller, `${host}/team/copy:1`)).Manifest.digest,
          (await inspect(s, `${host}/team/base:1`)).Manifest.digest,
        );
      } finally {
        puller.cleanup();
      }
    });
  },
);
