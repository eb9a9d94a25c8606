// Interop test server for wsc: panva's oidc-provider (pinned in package.json / package-lock.json)
// on 127.0.0.1, on a free port, plus a tiny protected API that checks bearer tokens through the
// provider's introspection endpoint. Started by crates/wsc-cli/tests/oidc.rs; test-only.
//
// Prints one line `OIDC_ISSUER=http://127.0.0.1:PORT` on stdout once it is listening.
//
// Environment:
//   OIDC_ACCESS_TTL      access-token lifetime in seconds (default 3600); short for refresh tests
//   OIDC_DEVICE_INTERVAL `interval` announced by the device authorization endpoint (default 1)
//
// Clients (all test-only):
//   wsc-basic    client_credentials, client_secret_basic, secret `basic-secret`
//   wsc-post     client_credentials, client_secret_post,  secret `post-secret`
//   wsc-pkjwt    client_credentials, private_key_jwt; public keys derived from keys/*.pem
//   wsc-app      authorization_code + PKCE + refresh_token, public (none), loopback redirect
//   wsc-offline  like wsc-app, under oidc-provider's own refresh-token policy: a refresh token
//                only for the `offline_access` scope, which the provider keeps only when the
//                authorization request has `prompt=consent` (OpenID Connect Core §11)
//   wsc-device   device_code + refresh_token, public; its first poll of each device code is
//                answered `slow_down` (oidc-provider itself never sends it) so that clients'
//                back-off is tested
//   wsc-device-short  like wsc-device, without slow_down, device codes live 3 s
//   wsc-rs       the protected API's own client, used to call introspection
//
// Protected API (each needs `Authorization: Bearer <token>`, checked by introspection):
//   GET /api/me     {"client_id", "sub", "scope"} of the token
//   GET /api/users  {"items": [...]} three fixed users
// Test helpers:
//   GET /test/device-polls?client_id=ID  [{"at": ms, "answer": "slow_down" | "..."}] for that client

import { createServer } from 'node:http';
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider from 'oidc-provider';

const here = dirname(fileURLToPath(import.meta.url));
const accessTtl = Number.parseInt(process.env.OIDC_ACCESS_TTL ?? '3600', 10);
const deviceInterval = Number.parseInt(process.env.OIDC_DEVICE_INTERVAL ?? '1', 10);
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

function publicJwk(file, alg, kid) {
  const pem = readFileSync(join(here, 'keys', file), 'utf8');
  return { ...createPublicKey(pem).export({ format: 'jwk' }), alg, kid, use: 'sig' };
}

const pkjwtKeys = [
  publicJwk('client-rsa.pem', 'RS256', 'rsa-rs256'),
  publicJwk('client-rsa.pem', 'PS256', 'rsa-ps256'),
  publicJwk('client-ec.pem', 'ES256', 'ec-es256'),
];

const clients = [
  {
    client_id: 'wsc-basic',
    client_secret: 'basic-secret',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'api:read',
  },
  {
    client_id: 'wsc-post',
    client_secret: 'post-secret',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_post',
    scope: 'api:read',
  },
  {
    client_id: 'wsc-pkjwt',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: pkjwtKeys },
    scope: 'api:read',
  },
  {
    client_id: 'wsc-app',
    application_type: 'native',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    // RFC 8252 §7.3: any port of the loopback address is accepted.
    redirect_uris: ['http://127.0.0.1/callback'],
    token_endpoint_auth_method: 'none',
  },
  {
    client_id: 'wsc-offline',
    application_type: 'native',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
    token_endpoint_auth_method: 'none',
  },
  {
    client_id: 'wsc-device',
    application_type: 'native',
    grant_types: [DEVICE_GRANT, 'refresh_token'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'none',
  },
  {
    client_id: 'wsc-device-short',
    application_type: 'native',
    grant_types: [DEVICE_GRANT, 'refresh_token'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'none',
  },
  {
    client_id: 'wsc-rs',
    client_secret: 'rs-secret',
    grant_types: [],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  },
];

const users = [
  { id: 'u1', userName: 'alice', email: 'alice@example.test' },
  { id: 'u2', userName: 'bob', email: 'bob@example.test' },
  { id: 'u3', userName: 'carol', email: 'carol@example.test' },
];

// Keep idle connections longer than any polling interval, so that a client reusing one never
// races the server closing it (Node's default is 5 s).
const server = createServer();
server.keepAliveTimeout = 120_000;
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients,
  cookies: { keys: ['wsc-interop-test-cookie-key-not-secret'] },
  scopes: ['openid', 'offline_access', 'api:read'],
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // The protected API (wsc-rs) may introspect every token; a client its own.
      allowedPolicy: async (ctx, client, token) => client.clientId === 'wsc-rs' || token.clientId === client.clientId,
    },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
  },
  pkce: { required: () => true },
  // The other clients get a refresh token whenever they may refresh; wsc-offline keeps the
  // provider's default policy (offline_access required).
  issueRefreshToken: async (ctx, client, source) => client.grantTypeAllowed('refresh_token')
    && (client.clientId !== 'wsc-offline' || source.scopes.has('offline_access')),
  rotateRefreshToken: true,
  ttl: {
    AccessToken: accessTtl,
    ClientCredentials: accessTtl,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 24 * 3600,
    Interaction: 600,
    Session: 3600,
    Grant: 24 * 3600,
    DeviceCode: (ctx, code, client) => (client.clientId === 'wsc-device-short' ? 3 : 600),
  },
});

// Device polls seen, per client, for the slow_down test.
const polls = new Map();
const slowedDown = new Set();

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 64 * 1024) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path === '/token') {
    // Read the form here (oidc-provider then uses ctx.request.body) to see device polls.
    const raw = await readBody(ctx.req);
    ctx.request.body = raw;
    const form = new URLSearchParams(raw);
    if (form.get('grant_type') === DEVICE_GRANT) {
      const clientId = form.get('client_id') ?? '';
      const deviceCode = form.get('device_code') ?? '';
      const list = polls.get(clientId) ?? [];
      polls.set(clientId, list);
      const entry = { at: Date.now(), answer: '' };
      list.push(entry);
      if (clientId === 'wsc-device' && !slowedDown.has(deviceCode)) {
        slowedDown.add(deviceCode);
        entry.answer = 'slow_down';
        ctx.status = 400;
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { error: 'slow_down', error_description: 'you are polling too quickly (test server)' };
        return;
      }
      await next();
      entry.answer = ctx.status === 200 ? 'token' : (ctx.body?.error ?? String(ctx.status));
      return;
    }
  }
  await next();
  if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
    ctx.body.interval = deviceInterval;
  }
});

async function introspect(token) {
  const res = await fetch(`${issuer}/token/introspection`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('wsc-rs:rs-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }).toString(),
  });
  if (res.status !== 200) {
    return { active: false };
  }
  return res.json();
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

async function api(req, res, url) {
  const m = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
  if (!m) {
    send(res, 401, { error: 'invalid_token', error_description: 'missing bearer token' }, { 'www-authenticate': 'Bearer' });
    return;
  }
  const info = await introspect(m[1].trim());
  if (!info.active) {
    send(res, 401, { error: 'invalid_token', error_description: 'inactive token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    return;
  }
  if (url.pathname === '/api/me') {
    send(res, 200, { client_id: info.client_id, sub: info.sub ?? null, scope: info.scope ?? null });
  } else if (url.pathname === '/api/users') {
    send(res, 200, { items: users, total: users.length });
  } else {
    send(res, 404, { error: 'not_found' });
  }
}

const callback = provider.callback();
server.on('request', (req, res) => {
  const url = new URL(req.url, issuer);
  if (url.pathname.startsWith('/api/')) {
    api(req, res, url).catch((e) => send(res, 500, { error: 'server_error', error_description: String(e) }));
  } else if (url.pathname === '/test/device-polls') {
    send(res, 200, polls.get(url.searchParams.get('client_id') ?? '') ?? []);
  } else {
    callback(req, res);
  }
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
// Exit with the parent: the Rust test holds our stdin open and never writes to it.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

console.log(`OIDC_ISSUER=${issuer}`);
