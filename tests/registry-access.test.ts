/**
 * `skiff registry serve --access FILE`: per-repository rules for users, groups and anonymous
 * callers, judged through the real CLI with raw HTTP for exact statuses (Basic and our own
 * token issuer), and by skopeo and skiff's own client pushing and pulling.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestOf } from '../src/oci/digest.js';
import {
  errorCode,
  imageArchive,
  pushImage,
  raw,
  serveCli,
  type ServedCli,
} from '../src/registry/server/testing.js';
import { needs } from '../src/util/test-requirements.js';
import { busyboxTar, makeSandbox, oneLineError, run, runOk, SKIFF_BIN, type Sandbox } from './helpers.js';

const ACCESS = `# the test's rules
groups:
  team: [alice, bob]
rules:
  - who: [team]
    repositories: ["team/*"]
    actions: [pull, push]
  - who: [alice]
    repositories: ["team/*"]
    actions: [delete]
  - who: ["*"]
    repositories: ["shared/**"]
    actions: [pull]
  - who: [carol]
    repositories: ["shared/**", "carol/**", "public/**"]
    actions: [pull, push]
  - who: [anonymous]
    repositories: ["public/**"]
    actions: [pull]
`;

const USERS = ['alice', 'bob', 'carol', 'dave'];
const basic = (user: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:pw-${user}`).toString('base64')}`,
});

/** An htpasswd file of USERS (password `pw-<user>`) and the access file, in `dir`. */
async function writeFiles(dir: string): Promise<{ htpasswd: string; access: string }> {
  const htpasswd = path.join(dir, 'htpasswd');
  for (const [i, user] of USERS.entries())
    await runOk('htpasswd', [...(i === 0 ? ['-c'] : []), '-bB', htpasswd, user, `pw-${user}`]);
  const access = path.join(dir, 'access.yaml');
  fs.writeFileSync(access, ACCESS);
  return { htpasswd, access };
}

describe('registry serve --access with Basic users', { skip: needs('htpasswd') }, () => {
  let s: Sandbox;
  let reg: ServedCli;
  let team: Awaited<ReturnType<typeof pushImage>>;
  let shared: Awaited<ReturnType<typeof pushImage>>;

  before(async () => {
    s = makeSandbox('skiff-reg-access-');
    const files = await writeFiles(s.dir);
    reg = await serveCli(SKIFF_BIN, path.join(s.dir, 'reg'), [
      '--htpasswd',
      files.htpasswd,
      '--access',
      files.access,
    ]);
    team = await pushImage(reg.url, 'team/app', 'v1', { headers: basic('bob') });
    shared = await pushImage(reg.url, 'shared/base', 'v1', { headers: basic('carol') });
    await pushImage(reg.url, 'public/tool', 'v1', { headers: basic('carol') });
    await pushImage(reg.url, 'carol/own', 'v1', { headers: basic('carol') });
  });
  after(async () => {
    await reg?.stop();
    s?.cleanup();
  });

  it('a group member pushes; a user without a rule gets 403 DENIED; anonymous gets the Basic challenge', async () => {
    const dave = await raw(reg.url, 'POST', '/v2/team/app/blobs/uploads/', { headers: basic('dave') });
    assert.equal(dave.status, 403);
    assert.equal(errorCode(dave), 'DENIED');
    assert.match(dave.body.toString(), /user `dave` is not allowed by the access file/);
    const carol = await raw(reg.url, 'PUT', '/v2/team/app/manifests/v2', {
      headers: basic('carol'),
      body: team.bytes,
    });
    assert.equal(carol.status, 403);
    const anonymous = await raw(reg.url, 'POST', '/v2/team/app/blobs/uploads/');
    assert.equal(anonymous.status, 401);
    assert.match(String(anonymous.headers['www-authenticate']), /^Basic realm=/);
    const wrong = await raw(reg.url, 'GET', '/v2/team/app/tags/list', {
      headers: { Authorization: `Basic ${Buffer.from('bob:nope').toString('base64')}` },
    });
    assert.equal(wrong.status, 401);
  });

  it('reads follow the rules: manifests, blobs and tag lists', async () => {
    for (const [who, status] of [
      ['bob', 200],
      ['alice', 200],
      ['dave', 403],
    ] as const) {
      assert.equal(
        (await raw(reg.url, 'GET', '/v2/team/app/manifests/v1', { headers: basic(who) })).status,
        status,
        who,
      );
      assert.equal(
        (await raw(reg.url, 'GET', `/v2/team/app/blobs/${team.layer}`, { headers: basic(who) })).status,
        status,
        who,
      );
      assert.equal(
        (await raw(reg.url, 'GET', '/v2/team/app/tags/list', { headers: basic(who) })).status,
        status,
        who,
      );
    }
    assert.equal(
      (await raw(reg.url, 'GET', '/v2/shared/base/manifests/v1', { headers: basic('dave') })).status,
      200,
    );
  });

  it('anonymous pull is granted where a rule says so, and refused (401) elsewhere', async () => {
    assert.equal((await raw(reg.url, 'GET', '/v2/public/tool/manifests/v1')).status, 200);
    assert.equal((await raw(reg.url, 'GET', '/v2/public/tool/tags/list')).status, 200);
    const refused = await raw(reg.url, 'GET', '/v2/team/app/manifests/v1');
    assert.equal(refused.status, 401);
    assert.equal(errorCode(refused), 'UNAUTHORIZED');
    assert.equal(
      (await raw(reg.url, 'GET', '/v2/shared/base/manifests/v1')).status,
      401,
      '"*" is not anonymous',
    );
  });

  it('the catalog lists only what the caller may pull', async () => {
    const catalog = async (headers: Record<string, string> = {}) => {
      const res = await raw(reg.url, 'GET', '/v2/_catalog', { headers });
      assert.equal(res.status, 200, res.body.toString());
      return res.json<{ repositories: string[] }>().repositories;
    };
    assert.deepEqual(await catalog(basic('bob')), ['shared/base', 'team/app']);
    assert.deepEqual(await catalog(basic('carol')), ['carol/own', 'public/tool', 'shared/base']);
    assert.deepEqual(await catalog(basic('dave')), ['shared/base']);
    assert.deepEqual(await catalog(), ['public/tool']);
  });

  it('delete needs the delete action: push alone is not enough', async () => {
    const pushed = await pushImage(reg.url, 'team/gone', 'v1', { headers: basic('bob') });
    const bob = await raw(reg.url, 'DELETE', `/v2/team/gone/manifests/${pushed.digest}`, {
      headers: basic('bob'),
    });
    assert.equal(bob.status, 403);
    const alice = await raw(reg.url, 'DELETE', `/v2/team/gone/manifests/${pushed.digest}`, {
      headers: basic('alice'),
    });
    assert.equal(alice.status, 202);
  });

  it('a mount from a repository the user cannot pull is a plain upload session; the blob is linked only once uploaded', async () => {
    const layer = team.layer;
    const mount = await raw(reg.url, 'POST', `/v2/carol/app/blobs/uploads/?mount=${layer}&from=team/app`, {
      headers: basic('carol'),
    });
    assert.equal(mount.status, 202, 'an upload session, never a mount');
    const location = String(mount.headers['location']);
    assert.match(location, /^\/v2\/carol\/app\/blobs\/uploads\/[^/]+$/);
    const before = await raw(reg.url, 'HEAD', `/v2/carol/app/blobs/${layer}`, { headers: basic('carol') });
    assert.equal(before.status, 404, 'the blob did not leak into carol/app');
    const bytes = (await raw(reg.url, 'GET', `/v2/team/app/blobs/${layer}`, { headers: basic('bob') })).body;
    assert.equal(digestOf(bytes), layer);
    const put = await raw(reg.url, 'PUT', `${location}?digest=${layer}`, {
      headers: { ...basic('carol'), 'Content-Type': 'application/octet-stream' },
      body: bytes,
    });
    assert.equal(put.status, 201, put.body.toString());
    assert.equal(
      (await raw(reg.url, 'HEAD', `/v2/carol/app/blobs/${layer}`, { headers: basic('carol') })).status,
      200,
    );
    // From a repository carol may pull, the same request mounts at once.
    const allowed = await raw(
      reg.url,
      'POST',
      `/v2/carol/app/blobs/uploads/?mount=${shared.layer}&from=shared/base`,
      {
        headers: basic('carol'),
      },
    );
    assert.equal(allowed.status, 201);
    assert.equal(allowed.headers['location'], `/v2/carol/app/blobs/${shared.layer}`);
  });
});

describe('registry serve --access with our own token issuer', { skip: needs('htpasswd') }, () => {
  let s: Sandbox;
  let reg: ServedCli;

  before(async () => {
    s = makeSandbox('skiff-reg-access-token-');
    const files = await writeFiles(s.dir);
    reg = await serveCli(SKIFF_BIN, path.join(s.dir, 'reg'), [
      '--htpasswd',
      files.htpasswd,
      '--access',
      files.access,
      '--token-issuer',
    ]);
  });
  after(async () => {
    await reg?.stop();
    s?.cleanup();
  });

  async function token(scopes: string[], user?: string): Promise<{ token: string; access: unknown }> {
    const query = scopes.map((sc) => `scope=${encodeURIComponent(sc)}`).join('&');
    const res = await raw(reg.url, 'GET', `/token?service=skiff-registry&${query}`, {
      headers: user === undefined ? {} : basic(user),
    });
    assert.equal(res.status, 200, res.body.toString());
    const t = res.json<{ token: string }>().token;
    const claims = JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as { access: unknown };
    return { token: t, access: claims.access };
  }
  const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

  it('a token grants the intersection of what was asked and what the rules allow', async () => {
    const bob = await token(['repository:team/app:pull,push,delete', 'repository:carol/x:pull,push'], 'bob');
    assert.deepEqual(bob.access, [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }]);
    const alice = await token(['repository:team/app:*'], 'alice');
    assert.deepEqual(alice.access, [
      { type: 'repository', name: 'team/app', actions: ['pull', 'push', 'delete'] },
    ]);
    const dave = await token(['repository:team/app:pull,push'], 'dave');
    assert.deepEqual(dave.access, []);
    const anonymous = await token(['repository:public/tool:pull,push', 'repository:team/app:pull']);
    assert.deepEqual(anonymous.access, [{ type: 'repository', name: 'public/tool', actions: ['pull'] }]);
  });

  it('tokens push where the rules allow; denied pushes are 403 for users and 401 for anonymous callers', async () => {
    const bob = await token(['repository:team/app:pull,push'], 'bob');
    const pushed = await pushImage(reg.url, 'team/app', 'v1', { headers: bearer(bob.token) });
    const dave = await token(['repository:team/app:pull,push'], 'dave');
    const denied = await raw(reg.url, 'POST', '/v2/team/app/blobs/uploads/', { headers: bearer(dave.token) });
    assert.equal(denied.status, 403);
    assert.equal(errorCode(denied), 'DENIED');
    assert.match(String(denied.headers['www-authenticate']), /error="insufficient_scope"/);
    const anonymous = await token(['repository:team/app:pull']);
    const refused = await raw(reg.url, 'GET', '/v2/team/app/manifests/v1', {
      headers: bearer(anonymous.token),
    });
    assert.equal(refused.status, 401);
    assert.match(
      String(refused.headers['www-authenticate']),
      /^Bearer realm=.*scope="repository:team\/app:pull"/,
    );
    // A push scope lets the token's holder delete only when the rules also grant delete.
    const del = await raw(reg.url, 'DELETE', `/v2/team/app/manifests/${pushed.digest}`, {
      headers: bearer(bob.token),
    });
    assert.equal(del.status, 403);
  });

  it('the catalog through a token lists only what the user may pull', async () => {
    const carol = await token(['repository:carol/c:pull,push'], 'carol');
    await pushImage(reg.url, 'carol/c', 'v1', { headers: bearer(carol.token) });
    const bob = await token(['repository:team/b:pull,push'], 'bob');
    await pushImage(reg.url, 'team/b', 'v1', { headers: bearer(bob.token) });
    const list = async (user: string) => {
      const t = await token(['registry:catalog:*'], user);
      const res = await raw(reg.url, 'GET', '/v2/_catalog', { headers: bearer(t.token) });
      assert.equal(res.status, 200, res.body.toString());
      return res.json<{ repositories: string[] }>().repositories;
    };
    assert.deepEqual(await list('carol'), ['carol/c']);
    assert.ok(!(await list('bob')).includes('carol/c'));
    assert.ok((await list('bob')).includes('team/b'));
  });

  it('a mount whose source the token may not pull becomes an upload session', async () => {
    const bob = await token(['repository:team/m:pull,push'], 'bob');
    const source = await pushImage(reg.url, 'team/m', 'v1', { headers: bearer(bob.token) });
    // carol asks for the source too; the rules keep it out of her token.
    const carol = await token(['repository:carol/m:pull,push', 'repository:team/m:pull'], 'carol');
    assert.deepEqual(carol.access, [{ type: 'repository', name: 'carol/m', actions: ['pull', 'push'] }]);
    const mount = await raw(reg.url, 'POST', `/v2/carol/m/blobs/uploads/?mount=${source.layer}&from=team/m`, {
      headers: bearer(carol.token),
    });
    assert.equal(mount.status, 202);
    const head = await raw(reg.url, 'HEAD', `/v2/carol/m/blobs/${source.layer}`, {
      headers: bearer(carol.token),
    });
    assert.equal(head.status, 404);
  });
});

describe(
  'registry serve --access judged by skopeo and skiff',
  { skip: needs('root', 'skopeo', 'htpasswd') },
  () => {
    let s: Sandbox;
    let archive: string;
    let files: { htpasswd: string; access: string };

    before(async () => {
      s = makeSandbox('skiff-reg-access-clients-');
      ({ archive } = await imageArchive((a) => s.ok(a), s.dir, busyboxTar()));
      files = await writeFiles(s.dir);
    });
    after(() => s?.cleanup());

    for (const mode of ['basic', 'token'] as const) {
      it(`${mode}: skopeo pushes as a group member, is refused as another user, and pulls anonymously where allowed`, async () => {
        const flags = ['--htpasswd', files.htpasswd, '--access', files.access];
        if (mode === 'token') flags.push('--token-issuer');
        const reg = await serveCli(SKIFF_BIN, path.join(s.dir, `reg-${mode}`), flags);
        const env = (user: string) => ({
          TMPDIR: s.dir,
          REGISTRY_AUTH_FILE: path.join(s.dir, `auth-${mode}-${user}.json`),
        });
        const copy = (dest: string, user: string) =>
          run(
            'skopeo',
            ['copy', '--dest-tls-verify=false', `oci-archive:${archive}`, `docker://${reg.host}/${dest}`],
            {
              env: env(user),
            },
          );
        try {
          for (const user of ['bob', 'dave', 'carol'])
            await runOk(
              'skopeo',
              ['login', '--tls-verify=false', '-u', user, '-p', `pw-${user}`, reg.host],
              env(user),
            );
          const bob = await copy('team/app:v1', 'bob');
          assert.equal(bob.code, 0, bob.stderr);
          const dave = await copy('team/app:v2', 'dave');
          assert.notEqual(dave.code, 0);
          assert.match(dave.stderr, /403 \(Forbidden\)|denied/i);
          assert.equal((await copy('public/app:v1', 'carol')).code, 0);
          const anon = { TMPDIR: s.dir, REGISTRY_AUTH_FILE: path.join(s.dir, 'none.json') };
          await runOk(
            'skopeo',
            ['inspect', '--tls-verify=false', '--no-creds', `docker://${reg.host}/public/app:v1`],
            anon,
          );
          const hidden = await run(
            'skopeo',
            ['inspect', '--tls-verify=false', '--no-creds', `docker://${reg.host}/team/app:v1`],
            {
              env: anon,
            },
          );
          assert.notEqual(hidden.code, 0);

          // skiff's own client: dave's push is refused, anonymous pull of public/ works.
          const docker = { DOCKER_CONFIG: path.join(s.dir, `docker-${mode}`) };
          await s.ok(['login', '-u', 'dave', '--password-stdin', reg.host], {
            env: docker,
            input: 'pw-dave',
          });
          await s.ok(['tag', 'base:1', `${reg.host}/team/app:skiff`]);
          const refused = await s.skiff(['push', `${reg.host}/team/app:skiff`], { env: docker });
          assert.equal(refused.code, 1);
          assert.match(oneLineError(refused.stderr), /denied/i);
          const puller = makeSandbox('skiff-reg-access-pull-');
          try {
            await puller.ok(['pull', `${reg.host}/public/app:v1`], {
              env: { DOCKER_CONFIG: path.join(s.dir, 'empty') },
            });
          } finally {
            puller.cleanup();
          }
        } finally {
          await reg.stop();
        }
      });
    }
  },
);

describe('registry serve with a malformed access file', { skip: needs('htpasswd') }, () => {
  it('exits 2 before listening, with one line naming the file, the line and the problem', async () => {
    const s = makeSandbox('skiff-reg-access-bad-');
    try {
      const { htpasswd } = await writeFiles(s.dir);
      const bad = path.join(s.dir, 'bad.yaml');
      fs.writeFileSync(
        bad,
        'rules:\n  - who: [alice]\n    repositories: ["team/*"]\n    actions: [pull, pusj]\n',
      );
      const r = await run(
        process.execPath,
        [
          SKIFF_BIN,
          'registry',
          'serve',
          '--addr',
          '127.0.0.1:0',
          '--root',
          path.join(s.dir, 'reg'),
          '--htpasswd',
          htpasswd,
          '--access',
          bad,
        ],
        { timeout: 20_000 },
      );
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '', 'it never listened');
      assert.equal(
        oneLineError(r.stderr),
        `Error: read access file \`${bad}\`: line 4: rules[0].actions: \`pusj\` is not an action; expected pull, push, delete or "*"`,
      );
      const usage = await run(process.execPath, [
        SKIFF_BIN,
        'registry',
        'serve',
        '--root',
        s.dir,
        '--access',
        bad,
      ]);
      assert.equal(usage.code, 2);
      assert.match(oneLineError(usage.stderr), /--access needs users/);
    } finally {
      s.cleanup();
    }
  });
});
