// A real OpenID Connect provider for releasegate's sign-in tests, built on panva's oidc-provider
// (a certified, maintained implementation). The tests start it on 127.0.0.1 and drive it with
// Chromium or requests. Only the sign-in screen is ours: a user name and password form, and
// consent given at once (a company's provider does not ask employees to consent to internal apps).
//
// Environment: ISSUER, PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS (comma-separated),
// ACCOUNTS_FILE (JSON: {"<username>": {"password", "sub", "email", "email_verified", "name", "groups"}}),
// read again at every sign-in so that a test can change someone's groups between two sign-ins.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import querystring from 'node:querystring';

import Provider from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`provider.mjs: set ${name}`);
    process.exit(2);
  }
  return value;
};

const ISSUER = env('ISSUER');
const PORT = Number(env('PORT'));
const ACCOUNTS_FILE = env('ACCOUNTS_FILE');

const accounts = () => JSON.parse(fs.readFileSync(ACCOUNTS_FILE, 'utf8'));
const bySub = (sub) => Object.entries(accounts()).find(([, a]) => a.sub === sub);

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// A fresh signing key for each run: nothing secret lives in the repository.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' };

const provider = new Provider(ISSUER, {
  clients: [
    {
      client_id: env('CLIENT_ID'),
      client_secret: env('CLIENT_SECRET'),
      redirect_uris: env('REDIRECT_URIS').split(','),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  // Every client must use PKCE: a sign-in without a code challenge is refused here.
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const found = bySub(sub);
    if (!found) return undefined;
    const [username, account] = found;
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email: account.email,
          email_verified: account.email_verified ?? true,
          name: account.name ?? username,
          preferred_username: username,
          groups: account.groups ?? [],
        };
      },
    };
  },
});

const callback = provider.callback();

function page(res, status, body) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Company sign-in</title></head><body>${body}</body></html>`);
}

function loginForm(uid, error = '') {
  return `<h1>Company sign-in</h1>
${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
  <label for="username">Company user name</label> <input id="username" name="username" autocomplete="username">
  <label for="password">Company password</label> <input id="password" name="password" type="password">
  <button type="submit">Continue</button>
</form>`;
}

async function readForm(req) {
  let raw = '';
  for await (const chunk of req) {
    raw += chunk;
    if (raw.length > 10000) throw new Error('form too large');
  }
  return querystring.parse(raw);
}

async function consent(req, res, details) {
  const { prompt: { details: missing }, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const server = http.createServer(async (req, res) => {
  try {
    const { pathname } = new URL(req.url, ISSUER);
    const show = pathname.match(/^\/interaction\/([\w-]+)$/);
    const login = pathname.match(/^\/interaction\/([\w-]+)\/login$/);
    if (show && req.method === 'GET') {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === 'login') return page(res, 200, loginForm(details.uid));
      return consent(req, res, details);
    }
    if (login && req.method === 'POST') {
      const details = await provider.interactionDetails(req, res);
      const form = await readForm(req);
      const account = accounts()[form.username];
      if (!account || account.password !== form.password) {
        return page(res, 401, loginForm(details.uid, 'Unknown user name or wrong password.'));
      }
      return provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
    }
    return callback(req, res);
  } catch (err) {
    console.error(err);
    return page(res, 400, `<p role="alert">${escape(err.message)}</p>`);
  }
});

server.listen(PORT, '127.0.0.1', () => console.log(`provider listening on ${ISSUER}`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
