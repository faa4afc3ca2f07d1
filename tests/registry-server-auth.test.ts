/**
 * `skiff registry serve` with users (htpasswd: Basic, and the token issuer: Bearer) and with
 * TLS, judged by skopeo and podman logging in and pushing, and by openssl's certificate.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { imageArchive, raw, serveCli } from '../src/registry/server/testing.js';
import { busyboxTar, makeSandbox, podman, run, SKIFF_BIN, runOk, type Sandbox } from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

describe('registry serve with users', { skip: needs('root', 'skopeo', 'podman', 'htpasswd') }, () => {
  let s: Sandbox;
  let archive: string;
  let htpasswd: string;

  before(async () => {
    s = makeSandbox('skiff-reg-auth-');
    ({ archive } = await imageArchive((a) => s.ok(a), s.dir, busyboxTar()));
    htpasswd = path.join(s.dir, 'htpasswd');
    await runOk('htpasswd', ['-cbB', htpasswd, 'alice', 's3cret']);
  });
  after(() => s?.cleanup());

  // token-workers: two processes must accept each other's tokens.
  for (const mode of ['basic', 'token', 'token-workers'] as const) {
    it(`${mode}: skopeo and podman log in and push; anonymous push gets a ${mode === 'basic' ? 'Basic' : 'Bearer'} challenge`, async () => {
      const flags = mode === 'basic' ? ['--htpasswd', htpasswd] : ['--htpasswd', htpasswd, '--token-issuer'];
      if (mode === 'token-workers') flags.push('--workers', '2');
      const reg = await serveCli(SKIFF_BIN, path.join(s.dir, `reg-${mode}`), flags);
      const authfile = path.join(s.dir, `auth-${mode}.json`);
      const env = { TMPDIR: s.dir, REGISTRY_AUTH_FILE: authfile };
      const p = podman(path.join(s.dir, `podman-${mode}`));
      try {
        const anon = await run(
          'skopeo',
          [
            'copy',
            '--dest-tls-verify=false',
            '--dest-no-creds',
            `oci-archive:${archive}`,
            `docker://${reg.host}/team/app:anon`,
          ],
          { env: { TMPDIR: s.dir, REGISTRY_AUTH_FILE: path.join(s.dir, 'none.json') } },
        );
        assert.notEqual(anon.code, 0);
        const post = await raw(reg.url, 'POST', '/v2/team/app/blobs/uploads/');
        assert.equal(post.status, 401);
        assert.match(
          String(post.headers['www-authenticate']),
          mode === 'basic' ? /^Basic realm=/ : /^Bearer realm="[^"]+\/token",service=/,
        );

        const wrong = await run(
          'skopeo',
          ['login', '--tls-verify=false', '-u', 'alice', '-p', 'wrong', reg.host],
          { env },
        );
        assert.notEqual(wrong.code, 0);
        await runOk('skopeo', ['login', '--tls-verify=false', '-u', 'alice', '-p', 's3cret', reg.host], env);
        await runOk(
          'skopeo',
          ['copy', '--dest-tls-verify=false', `oci-archive:${archive}`, `docker://${reg.host}/team/app:v1`],
          env,
        );
        await runOk('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/team/app:v1`], env);

        const podAuth = path.join(s.dir, `podauth-${mode}.json`);
        await p.ok([
          'login',
          '--tls-verify=false',
          '--authfile',
          podAuth,
          '-u',
          'alice',
          '-p',
          's3cret',
          reg.host,
        ]);
        const id = (await p.ok(['pull', '-q', `oci-archive:${archive}`])).stdout.trim();
        await p.ok([
          'push',
          '--tls-verify=false',
          '--authfile',
          podAuth,
          id,
          `docker://${reg.host}/pod/app:v1`,
        ]);
        await p.ok(['rmi', '-f', id]);
        await p.ok(['pull', '--tls-verify=false', '--authfile', podAuth, `${reg.host}/pod/app:v1`]);
      } finally {
        await p.cleanup();
        await reg.stop();
      }
    });
  }
});

describe('registry serve over TLS', { skip: needs('root', 'skopeo', 'openssl') }, () => {
  let s: Sandbox;
  before(() => {
    s = makeSandbox('skiff-reg-tls-');
  });
  after(() => s?.cleanup());

  it('skopeo pushes with --dest-cert-dir trusting a self-signed certificate', async () => {
    const { archive, manifest } = await imageArchive((a) => s.ok(a), s.dir, busyboxTar());
    const certs = path.join(s.dir, 'certs');
    fs.mkdirSync(certs);
    const cert = path.join(certs, 'ca.crt');
    const key = path.join(s.dir, 'key.pem');
    await runOk('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    const reg = await serveCli(SKIFF_BIN, path.join(s.dir, 'reg'), ['--tls-cert', cert, '--tls-key', key]);
    try {
      assert.match(reg.url, /^https:/);
      const env = { TMPDIR: s.dir };
      await runOk(
        'skopeo',
        ['copy', '--dest-cert-dir', certs, `oci-archive:${archive}`, `docker://${reg.host}/tls/app:v1`],
        env,
      );
      const info = JSON.parse(
        await runOk('skopeo', ['inspect', '--cert-dir', certs, `docker://${reg.host}/tls/app:v1`], env),
      ) as { Digest: string };
      assert.equal(info.Digest, manifest);
      // Without trusting the certificate the client must refuse.
      const untrusted = await run('skopeo', ['inspect', `docker://${reg.host}/tls/app:v1`], { env });
      assert.notEqual(untrusted.code, 0);
      const base = await raw(reg.url, 'GET', '/v2/', { ca: fs.readFileSync(cert) });
      assert.equal(base.status, 200);
    } finally {
      await reg.stop();
    }
  });
});
