/**
 * Challenges and bearer tokens. The token server and the registry that asks for tokens are a
 * few lines of node:http here: Debian's docker-registry needs a whole token service for this
 * (docker-registry's own tests cover Basic auth end to end).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { parseChallenge } from './auth.js';
import { Session } from './session.js';
import { Transport, readBody } from './transport.js';

test('challenges: scheme and parameters, quoted or not', () => {
  assert.deepEqual(
    parseChallenge(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
    ),
    {
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/busybox:pull',
      },
    },
  );
  assert.deepEqual(parseChallenge('Basic realm="skiff \\"test\\""'), {
    scheme: 'basic',
    params: { realm: 'skiff "test"' },
  });
  assert.deepEqual(parseChallenge('Basic realm=plain, charset="UTF-8"'), {
    scheme: 'basic',
    params: { realm: 'plain', charset: 'UTF-8' },
  });
  assert.equal(parseChallenge(''), undefined);
});

interface Seen {
  tokenRequests: { scope: string[]; authorization: string | undefined }[];
}

/** A registry that wants `Bearer <scope>` tokens, and the token server that issues them. */
async function tokenRegistry(
  password: string | undefined,
): Promise<{ host: string; seen: Seen; close(): void }> {
  const seen: Seen = { tokenRequests: [] };
  let issued = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/token') {
      const authorization = req.headers.authorization;
      seen.tokenRequests.push({ scope: url.searchParams.getAll('scope'), authorization });
      const expected =
        password === undefined ? undefined : `Basic ${Buffer.from(`bob:${password}`).toString('base64')}`;
      if (authorization !== expected) {
        res.writeHead(401).end();
        return;
      }
      issued++;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      // The first token is one the registry refuses, to show a refresh.
      res.end(
        JSON.stringify({
          token: `t${issued}:${url.searchParams.getAll('scope').join(' ')}`,
          expires_in: 300,
        }),
      );
      return;
    }
    const scope = url.pathname.startsWith('/v2/team/app/') ? 'repository:team/app:pull' : '';
    const auth = req.headers.authorization ?? '';
    const ok = /^Bearer t\d+:/.test(auth) && auth.endsWith(scope) && !auth.startsWith('Bearer t1:');
    if (!ok) {
      const params = `realm="http://${req.headers.host}/token",service="test"${scope ? `,scope="${scope}"` : ''}`;
      res.writeHead(401, { 'WWW-Authenticate': `Bearer ${params}`, 'Content-Type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    host: `127.0.0.1:${port}`,
    seen,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

test('bearer: anonymous token per scope, cached, refreshed once when refused', async () => {
  const registry = await tokenRegistry(undefined);
  const transport = new Transport();
  try {
    const session = new Session(registry.host, { transport, credentials: undefined, retryDelay: 1 });
    // No stored credentials: point DOCKER_CONFIG nowhere.
    process.env['DOCKER_CONFIG'] = '/nonexistent-skiff-test';
    const scopes = ['repository:team/app:pull'];
    const first = await session.request(scopes, '/v2/team/app/manifests/1');
    await readBody(first);
    assert.equal(first.status, 200);
    // t1 was refused, so the token was fetched once more: one refresh, anonymous both times.
    assert.deepEqual(
      registry.seen.tokenRequests.map((r) => [r.scope, r.authorization]),
      [
        [scopes, undefined],
        [scopes, undefined],
      ],
    );
    const again = await session.request(scopes, '/v2/team/app/manifests/1');
    await readBody(again);
    assert.equal(again.status, 200);
    assert.equal(registry.seen.tokenRequests.length, 2, 'the cached token was reused');
  } finally {
    transport.close();
    registry.close();
  }
});

test('bearer with credentials: a wrong password is an unauthorized error', async () => {
  const registry = await tokenRegistry('right');
  const transport = new Transport();
  try {
    const session = new Session(registry.host, {
      transport,
      credentials: { username: 'bob', password: 'wrong' },
    });
    await assert.rejects(session.request(['repository:team/app:pull'], '/v2/team/app/manifests/1'), {
      code: 'UNAUTHORIZED',
      message: /incorrect username or password/,
    });
    const good = new Session(registry.host, {
      transport,
      credentials: { username: 'bob', password: 'right' },
    });
    const res = await good.request(['repository:team/app:pull'], '/v2/team/app/manifests/1');
    await readBody(res);
    assert.equal(res.status, 200);
    assert.ok(registry.seen.tokenRequests.some((r) => r.scope.includes('repository:team/app:pull')));
  } finally {
    transport.close();
    registry.close();
  }
});
