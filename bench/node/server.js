// The Node peer of bench/run.sh: @simplewebauthn/server behind actix-passkeys' wire contract
// (the routes, JSON shapes and error envelope examples/loadgen.rs drives; bench/README.md).
//
// BENCH_STORE=memory (default): credentials and challenges in Maps in this process.
// BENCH_STORE=pg: credentials in PostgreSQL (DATABASE_URL, `pg` pool of BENCH_PG_POOL, default
// 10, the same as bench_server), challenges in Redis (REDIS_URL, BENCH_REDIS_PREFIX; SET PX +
// GETDEL, single use).
// PORT (default 8080) sets the expected origin http://localhost:PORT; rp id `localhost`.
//
// Like bench_server: challenges live server-side and are taken once (TTL 300 s, at most 65,536
// held in memory); `userVerification: required` at both ceremonies; username-first `begin`
// lists the user's credentials; `finish` checks that the credential belongs to the user the
// challenge was issued for (username-first) or that `userHandle` is its owner's handle
// (usernameless); the counter update is a compare-and-swap; a sign-in sets an encrypted
// (AES-256-GCM) session cookie. Errors are {"error":{"code","message"}}.
import crypto from 'node:crypto';
import http from 'node:http';

import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';

const PORT = Number(process.env.PORT || 8080);
const ORIGIN = `http://localhost:${PORT}`;
const RP_ID = 'localhost';
const SCOPE = '/auth/passkeys';
const TTL_MS = 300_000;
const MAX_CHALLENGES = 65_536;
const BODY_LIMIT = 64 * 1024;
const SECRET = crypto.randomBytes(32); // user handles (HMAC) and session cookies (AES-GCM)

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
const invalid = (m) => new ApiError(400, 'invalid_request', m);
const storeDown = () => new ApiError(503, 'store_unavailable', 'A store is unavailable.');

// ---------------------------------------------------------------- stores

class MemoryStores {
  constructor() {
    this.challenges = new Map(); // handle -> { record, expires }
    this.credentials = new Map(); // credential id (base64url) -> row
    this.byUser = new Map(); // user id -> [row]
    setInterval(() => this.sweep(), 10_000).unref();
  }
  sweep() {
    const now = Date.now();
    for (const [k, v] of this.challenges) if (v.expires <= now) this.challenges.delete(k);
  }
  async putChallenge(handle, record) {
    if (this.challenges.size >= MAX_CHALLENGES) this.sweep();
    if (this.challenges.size >= MAX_CHALLENGES) throw storeDown();
    this.challenges.set(handle, { record, expires: Date.now() + TTL_MS });
  }
  async takeChallenge(handle) {
    const v = this.challenges.get(handle);
    if (!v) return null;
    this.challenges.delete(handle);
    if (v.expires <= Date.now()) return { expired: true };
    return v.record;
  }
  async listForUser(userId) {
    return this.byUser.get(userId) || [];
  }
  async get(id) {
    return this.credentials.get(id) || null;
  }
  async insert(row) {
    if (this.credentials.has(row.id)) return false;
    this.credentials.set(row.id, row);
    const list = this.byUser.get(row.userId) || [];
    list.push(row);
    this.byUser.set(row.userId, list);
    return true;
  }
  async updateCounter(id, oldCounter, newCounter) {
    const row = this.credentials.get(id);
    if (!row || row.counter !== oldCounter) return false;
    row.counter = newCounter;
    row.lastUsedAt = new Date();
    return true;
  }
  stats() {
    return { challenges: this.challenges.size };
  }
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS node_credentials (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  user_handle BYTEA NOT NULL,
  public_key BYTEA NOT NULL,
  counter BIGINT NOT NULL,
  transports TEXT[] NOT NULL,
  device_name TEXT,
  created_at TIMESTAMPTZ NOT NULL,
  last_used_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS node_credentials_user_id ON node_credentials (user_id)`;

const COLUMNS = 'id, user_id, user_handle, public_key, counter, transports';
const fromRow = (r) => ({
  id: r.id,
  userId: r.user_id,
  userHandle: r.user_handle,
  publicKey: new Uint8Array(r.public_key),
  counter: Number(r.counter),
  transports: r.transports,
});

class PgRedisStores {
  static async connect() {
    const { default: pg } = await import('pg');
    const { createClient } = await import('redis');
    const pool = new pg.Pool({
      connectionString: process.env.DATABASE_URL,
      max: Number(process.env.BENCH_PG_POOL || 10),
    });
    pool.on('error', (e) => console.error('pg pool:', e.message));
    await pool.query(SCHEMA);
    const redis = createClient({ url: process.env.REDIS_URL || 'redis://127.0.0.1:6379/0' });
    redis.on('error', (e) => console.error('redis:', e.message));
    await redis.connect();
    return new PgRedisStores(pool, redis, process.env.BENCH_REDIS_PREFIX || 'bench:node:');
  }
  constructor(pool, redis, prefix) {
    this.pool = pool;
    this.redis = redis;
    this.prefix = prefix;
  }
  async q(name, text, values) {
    try {
      return await this.pool.query({ name, text, values }); // named: prepared once per connection
    } catch (e) {
      if (e.code === '23505') return null; // unique violation
      console.error('pg:', e.message);
      throw storeDown();
    }
  }
  async putChallenge(handle, record) {
    try {
      await this.redis.set(this.prefix + handle, JSON.stringify(record), {
        expiration: { type: 'PX', value: TTL_MS },
      });
    } catch (e) {
      console.error('redis:', e.message);
      throw storeDown();
    }
  }
  async takeChallenge(handle) {
    let v;
    try {
      v = await this.redis.getDel(this.prefix + handle);
    } catch (e) {
      console.error('redis:', e.message);
      throw storeDown();
    }
    return v === null ? null : JSON.parse(v);
  }
  async listForUser(userId) {
    const r = await this.q('list', `SELECT ${COLUMNS} FROM node_credentials WHERE user_id = $1 ORDER BY created_at, id`, [userId]);
    return r.rows.map(fromRow);
  }
  async get(id) {
    const r = await this.q('get', `SELECT ${COLUMNS} FROM node_credentials WHERE id = $1`, [id]);
    return r.rows.length ? fromRow(r.rows[0]) : null;
  }
  async insert(row) {
    const r = await this.q(
      'insert',
      'INSERT INTO node_credentials (id, user_id, user_handle, public_key, counter, transports, device_name, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, now())',
      [row.id, row.userId, row.userHandle, Buffer.from(row.publicKey), row.counter, row.transports, row.deviceName],
    );
    return r !== null;
  }
  async updateCounter(id, oldCounter, newCounter) {
    const r = await this.q(
      'use',
      'UPDATE node_credentials SET counter = $3, last_used_at = now() WHERE id = $1 AND counter = $2',
      [id, oldCounter, newCounter],
    );
    return r.rowCount === 1;
  }
  stats() {
    return {};
  }
}

// ---------------------------------------------------------------- sessions, handles

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const userHandle = (userId) => crypto.createHmac('sha256', SECRET).update(userId).digest();

function sealCookie(value) {
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', SECRET, iv);
  const body = Buffer.concat([c.update(JSON.stringify(value)), c.final()]);
  return b64u(Buffer.concat([iv, c.getAuthTag(), body]));
}

function openCookie(text) {
  try {
    const raw = Buffer.from(text, 'base64url');
    const d = crypto.createDecipheriv('aes-256-gcm', SECRET, raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(12, 28));
    return JSON.parse(Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString());
  } catch {
    return null;
  }
}

function session(req) {
  for (const part of (req.headers.cookie || '').split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === 'id' && v) return openCookie(v);
  }
  return null;
}

const sessionCookie = (value) => `id=${sealCookie(value)}; Path=/; HttpOnly; SameSite=Lax`;

// ---------------------------------------------------------------- routes

function str(v, what) {
  if (typeof v !== 'string' || v.length === 0 || v.length > 1024) throw invalid(`${what} is missing or malformed.`);
  return v;
}

async function newState(stores, record) {
  const handle = b64u(crypto.randomBytes(16));
  await stores.putChallenge(handle, record);
  return handle;
}

async function takeState(stores, state, kind) {
  const rec = await stores.takeChallenge(str(state, 'state'));
  if (rec && rec.expired) throw new ApiError(400, 'challenge_expired', 'The challenge has expired.');
  if (!rec || rec.kind !== kind) throw new ApiError(400, 'challenge_not_found', 'Unknown or used challenge.');
  return rec;
}

function routes(stores) {
  return {
    async '/signup'(body) {
      const name = typeof body.username === 'string' ? body.username.trim() : '';
      // Same rule as the bench server: 1 to 64 printable characters.
      if (!name || [...name].length > 64 || /\p{Cc}/u.test(name)) throw invalid('username must be 1 to 64 printable characters.');
      return { body: { userId: name }, cookie: sessionCookie({ identify: name, at: Date.now() }) };
    },

    async [`${SCOPE}/register/begin`](_body, req) {
      const s = session(req);
      if (!s || !s.identify) throw new ApiError(401, 'not_authenticated', 'Not authenticated.');
      const userId = s.identify;
      const handle = userHandle(userId);
      const existing = await stores.listForUser(userId);
      const publicKey = await generateRegistrationOptions({
        rpName: 'simplewebauthn bench',
        rpID: RP_ID,
        userName: userId,
        userID: handle,
        attestationType: 'none',
        excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports })),
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      });
      const state = await newState(stores, { kind: 'reg', challenge: publicKey.challenge, userId });
      return { body: { publicKey, state } };
    },

    async [`${SCOPE}/register/finish`](body) {
      const rec = await takeState(stores, body.state, 'reg');
      let v;
      try {
        v = await verifyRegistrationResponse({
          response: body.credential,
          expectedChallenge: rec.challenge,
          expectedOrigin: ORIGIN,
          expectedRPID: RP_ID,
          requireUserVerification: true,
        });
      } catch {
        v = { verified: false };
      }
      if (!v.verified) throw new ApiError(400, 'attestation_verification_failed', 'The registration did not verify.');
      const c = v.registrationInfo.credential;
      const ok = await stores.insert({
        id: c.id,
        userId: rec.userId,
        userHandle: userHandle(rec.userId),
        publicKey: c.publicKey,
        counter: c.counter,
        transports: c.transports || [],
        deviceName: typeof body.deviceName === 'string' ? body.deviceName.slice(0, 64) : null,
      });
      if (!ok) throw new ApiError(409, 'credential_already_exists', 'This credential is registered already.');
      return { body: { status: 'ok', credentialId: c.id } };
    },

    async [`${SCOPE}/authenticate/begin`](body) {
      const userId = body.userId ?? body.user_id ?? null;
      if (userId !== null && (typeof userId !== 'string' || userId.length > 256)) throw invalid('userId is malformed.');
      const allow = userId === null ? [] : await stores.listForUser(userId);
      const publicKey = await generateAuthenticationOptions({
        rpID: RP_ID,
        allowCredentials: allow.map((c) => ({ id: c.id, transports: c.transports })),
        userVerification: 'required',
      });
      const state = await newState(stores, { kind: 'auth', challenge: publicKey.challenge, userId });
      return { body: { publicKey, state } };
    },

    async [`${SCOPE}/authenticate/finish`](body) {
      const rec = await takeState(stores, body.state, 'auth');
      const response = body.credential;
      const id = str(response && response.id, 'credential.id');
      const cred = await stores.get(id);
      const failed = () => new ApiError(401, 'assertion_verification_failed', 'The sign-in did not verify.');
      if (!cred) {
        if (rec.userId === null) throw new ApiError(401, 'credential_not_found', 'Unknown credential.');
        throw failed();
      }
      if (rec.userId !== null && cred.userId !== rec.userId) throw failed();
      if (rec.userId === null) {
        const h = response.response && response.response.userHandle;
        if (typeof h !== 'string' || !Buffer.from(h, 'base64url').equals(cred.userHandle)) throw failed();
      }
      let v;
      try {
        v = await verifyAuthenticationResponse({
          response,
          expectedChallenge: rec.challenge,
          expectedOrigin: ORIGIN,
          expectedRPID: RP_ID,
          credential: { id: cred.id, publicKey: cred.publicKey, counter: cred.counter, transports: cred.transports },
          requireUserVerification: true,
        });
      } catch (e) {
        if (/counter/i.test(String(e && e.message))) throw new ApiError(401, 'clone_detected', 'The signature counter did not advance.');
        throw failed();
      }
      if (!v.verified) throw failed();
      // Compare-and-swap: a concurrent assertion with the same counter loses.
      if (!(await stores.updateCounter(cred.id, cred.counter, v.authenticationInfo.newCounter))) throw failed();
      return {
        body: { status: 'ok', userId: cred.userId },
        cookie: sessionCookie({ user: cred.userId, at: Date.now() }),
      };
    },
  };
}

// ---------------------------------------------------------------- HTTP

function send(res, status, body, cookie) {
  const text = JSON.stringify(body);
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
  if (cookie) headers['set-cookie'] = cookie;
  res.writeHead(status, headers);
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > BODY_LIMIT) {
        reject(new ApiError(413, 'payload_too_large', 'The request body is too large.'));
        req.destroy();
      } else {
        chunks.push(c);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function main() {
  const stores = process.env.BENCH_STORE === 'pg' ? await PgRedisStores.connect() : new MemoryStores();
  const table = routes(stores);
  const server = http.createServer(async (req, res) => {
    try {
      const path = req.url.split('?')[0];
      if (req.method === 'GET' && path === '/bench/stats') return send(res, 200, stores.stats());
      const route = table[path];
      if (!route) throw new ApiError(404, 'not_found', 'Not found.');
      if (req.method !== 'POST') throw new ApiError(405, 'invalid_request', 'Method not allowed.');
      const raw = await readBody(req);
      let body = {};
      if (raw.length) {
        if (!/^application\/(.+\+)?json\b/.test(req.headers['content-type'] || '')) throw invalid('The body must be JSON.');
        try {
          body = JSON.parse(raw);
        } catch {
          throw invalid('The request body is not valid JSON.');
        }
        if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('The body must be a JSON object.');
      }
      const out = await route(body, req);
      send(res, 200, out.body, out.cookie);
    } catch (e) {
      if (e instanceof ApiError) send(res, e.status, { error: { code: e.code, message: e.message } });
      else {
        console.error('unexpected:', e && e.message);
        send(res, 500, { error: { code: 'internal_error', message: 'Internal error.' } });
      }
    }
  });
  server.keepAliveTimeout = 30_000;
  server.listen(PORT, '127.0.0.1', () => console.log(`bench node server: ${ORIGIN} pid ${process.pid}`));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
