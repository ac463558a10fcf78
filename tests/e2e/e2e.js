#!/usr/bin/env node
// Real-browser end-to-end tests: Debian Chromium + its CDP virtual authenticator, driving the quickstart
// page (examples/quickstart/index.html) by clicking its buttons like a person would.
// Usage: BASE_URL=http://localhost:8080 node tests/e2e/e2e.js   (tests/e2e/run.sh does everything)
// Prints `ok <scenario>` or `FAIL <scenario>: <step>: <error>` per scenario and ends with `N passed, M failed`.
'use strict';
const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');

const BASE = (process.env.BASE_URL || 'http://localhost:8080').replace(/\/$/, '');
const OUT = process.env.E2E_OUT || path.join(__dirname, '..', '..', 'target', 'e2e');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_TIMEOUT = 20_000; // one click -> result; WebAuthn itself answers in milliseconds here
const TOTAL_TIMEOUT = 170_000;
const ONLY = process.env.E2E_ONLY; // optional: run one scenario by name
const VERBOSE = !!process.env.E2E_VERBOSE; // optional: print every click and what the page answered

const INTERNAL = { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
  isUserVerified: true, automaticPresenceSimulation: true };
const USB = { ...INTERNAL, transport: 'usb' }; // Chromium allows one internal authenticator per page (C2)
const PRF = { ...INTERNAL, hasPrf: true }; // the WebAuthn prf extension (CTAP2 hmac-secret)
// A phone reached over hybrid (caBLE): its passkey reports transport `hybrid`, and a sign-in with it
// `authenticatorAttachment: "cross-platform"`.
const PHONE = { ...INTERNAL, transport: 'cable' };
const RUN = Date.now().toString(36); // unique usernames, so a reused server does not matter

function assert(cond, message) { if (!cond) throw new Error(message); }
// `r` ({status, body, text}, from Person.fetch) is exactly the error envelope {"error":{"code","message"}}
// with this status and code.
function assertError(r, status, code, what) {
  const e = r.body && r.body.error;
  const exact = r.status === status && e && e.code === code && typeof e.message === 'string'
    && Object.keys(r.body).length === 1 && Object.keys(e).length === 2;
  assert(exact, `${what}: expected ${status} ${code}, answered ${r.status} ${r.text}`);
}

// One person: a browser context with a single page (C3), a CDP session and its virtual authenticator(s).
class Person {
  static async open(browser, name, { withoutJsonHelpers = false, authenticator = INTERNAL } = {}) {
    const p = new Person();
    p.name = `${name}-${RUN}`;
    p.log = [];
    p.context = await browser.newContext();
    if (withoutJsonHelpers) { // an older browser: passkeys.js must do the base64url work itself
      await p.context.addInitScript(() => {
        delete PublicKeyCredential.parseCreationOptionsFromJSON;
        delete PublicKeyCredential.parseRequestOptionsFromJSON;
        delete PublicKeyCredential.prototype.toJSON;
      });
    }
    p.page = await p.context.newPage();
    p.page.setDefaultTimeout(STEP_TIMEOUT);
    p.page.on('console', (m) => { // a 401 from GET /me just means "signed out"
      if (!/status of 401/.test(m.text())) p.log.push(`console.${m.type()}: ${m.text()}`);
    });
    p.page.on('pageerror', (e) => p.log.push(`pageerror: ${e.message}`));
    p.cdp = await p.context.newCDPSession(p.page);
    await p.cdp.send('WebAuthn.enable', { enableUI: false });
    p.authenticator = await p.addAuthenticator(authenticator);
    await p.home();
    return p;
  }
  async addAuthenticator(options) {
    return (await this.cdp.send('WebAuthn.addVirtualAuthenticator', { options })).authenticatorId;
  }
  async presence(authenticatorId, enabled) {
    await this.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
  }
  async home() {
    await this.page.goto(`${BASE}/`);
    await this.page.waitForSelector('body[data-ready="yes"]', { state: 'attached' });
  }
  status() {
    return this.page.$eval('#status', (s) => ({ seq: +s.dataset.seq, kind: s.dataset.kind, text: s.textContent }));
  }
  // Waits until the page reports a finished action (success or error) newer than `after`.
  async waitStatus(after) {
    await this.page.waitForFunction((n) => {
      const s = document.getElementById('status');
      return +s.dataset.seq > n && s.dataset.kind !== 'busy';
    }, after, { timeout: STEP_TIMEOUT }).catch(async () => {
      throw new Error(`no result within ${STEP_TIMEOUT / 1000}s, page says: ${(await this.status()).text}`);
    });
    return this.status();
  }
  async click(selector) {
    const before = (await this.status()).seq;
    await this.page.click(selector);
    const r = await this.waitStatus(before);
    if (VERBOSE) console.log(`    ${this.name}: ${selector} -> ${r.text}`);
    return r;
  }
  async ok(selector, expect) {
    const r = await this.click(selector);
    assert(r.kind === 'ok', `expected success, page says: ${r.text}`);
    if (expect) assert(r.text.includes(expect), `expected "${expect}", page says: ${r.text}`);
    return r;
  }
  // Expects the page to show exactly the error `code` (a server code, or `client_<DOMException name>`
  // when the browser refused before the server saw anything).
  async fails(selector, code) {
    assert(typeof code === 'string' && code, `fails(${selector}) needs the one expected code`);
    const r = await this.click(selector);
    const shown = (/^Error: (\S+)/.exec(r.text) || [])[1];
    assert(r.kind === 'error' && shown === code, `expected error ${code}, page says: ${r.text}`);
    return shown;
  }
  async signup() {
    await this.page.fill('#username', this.name);
    await this.ok('#signup', this.name);
  }
  // Adds a passkey. When the list is on show (the server may list passkeys only after a passkey
  // sign-in), the new row must appear in it with its name.
  async register(deviceName) {
    const before = new Set((await this.rows()).map((r) => r.id));
    await this.page.fill('#device-name', deviceName || '');
    await this.ok('#register', 'Passkey added');
    if (await this.page.isHidden('#account')) return;
    const added = (await this.rows()).filter((r) => !before.has(r.id));
    assert(added.length === 1, `expected one new row in #passkeys, got ${added.length}`);
    if (deviceName) assert(added[0].name === deviceName, `new passkey shows name "${added[0].name}", not "${deviceName}"`);
  }
  async rowNamed(name) {
    const row = (await this.rows()).find((r) => r.name === name);
    assert(row, `no passkey named "${name}" in the list: ${JSON.stringify((await this.rows()).map((r) => r.name))}`);
    return row.id;
  }
  rows() {
    return this.page.$$eval('#passkeys li[data-id]', (lis) => lis.map((li) => ({
      id: li.dataset.id, name: (li.querySelector('.name') || {}).textContent, text: li.textContent })));
  }
  async expectSignedIn() {
    const who = await this.page.textContent('#whoami');
    assert(who.includes(`Signed in as ${this.name}`), `#whoami says: ${who}`);
  }
  async expectSignedOut() {
    const me = await this.fetch('GET', '/me');
    assertError(me, 401, 'not_authenticated', 'GET /me after sign-out');
  }
  // Raw HTTP from inside the page (same origin, same cookies): only to read results or try forbidden calls.
  fetch(method, url, body) {
    return this.page.evaluate(async ([method, url, body]) => {
      const init = { method, credentials: 'same-origin', headers: {} };
      if (body !== undefined) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
      const r = await fetch(url, init);
      const text = await r.text();
      let json = null;
      try { json = JSON.parse(text); } catch (_) { /* empty */ }
      return { status: r.status, body: json, text };
    }, [method, url, body]);
  }
  // What the page's "encryption key from your passkey" section shows.
  prf() {
    return this.page.$eval('#prf', (s) => {
      const r = s.querySelector('#prf-result');
      return { shown: !s.hidden, keyId: r.dataset.keyId, decrypted: r.dataset.decrypted, text: r.textContent };
    });
  }
  // Records the bodies the page posts to the finish routes, and the JSON the server answers.
  recordFinishes() {
    const seen = { posted: [], answered: [] };
    const finish = (url) => /\/auth\/passkeys\/(register|authenticate)\/finish$/.test(new URL(url).pathname);
    this.page.on('request', (req) => { if (finish(req.url())) seen.posted.push(req.postData() || ''); });
    this.page.on('response', async (res) => {
      if (finish(res.url())) seen.answered.push(await res.json().catch(() => null));
    });
    return seen;
  }
  async screenshot(file) {
    await this.page.screenshot({ path: path.join(OUT, file), fullPage: true }).catch(() => {});
  }
  close() { return this.context.close().catch(() => {}); }
}

// ---------------------------------------------------------------------------------------------------
const scenarios = {
  async 'page-and-script'(t) {
    const u = await t.person('ivan');
    await t.step('GET / serves the quickstart page', async () => {
      const r = await u.page.goto(`${BASE}/`);
      assert(r.status() === 200 && /text\/html/.test(r.headers()['content-type'] || ''),
        `GET / answered ${r.status()} ${r.headers()['content-type']}`);
      await u.page.waitForSelector('body[data-ready="yes"]', { state: 'attached' });
    });
    await t.step('GET /auth/passkeys/passkeys.js serves the helper', async () => {
      const r = await u.fetch('GET', '/auth/passkeys/passkeys.js');
      assert(r.status === 200 && r.text.includes('window') && r.text.includes('Passkeys'), `answered ${r.status}`);
      const type = await u.page.evaluate(async () => (await fetch('/auth/passkeys/passkeys.js')).headers.get('content-type'));
      assert(/javascript/.test(type || ''), `content-type is ${type}`);
      const api = await u.page.evaluate(() => Object.keys(window.Passkeys || {}).sort().join(','));
      assert(api === 'PasskeyError,applySignal,autofill,isSupported,register,signIn,upgrade', `window.Passkeys has ${api}`);
    });
    await t.step('GET /.well-known/webauthn lists the origins', async () => {
      const r = await u.page.evaluate(async () => {
        const res = await fetch('/.well-known/webauthn');
        return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
      });
      assert(r.status === 200 && r.type === 'application/json', `answered ${r.status} ${r.type}`);
      // The quickstart's one origin is the page's own.
      assert(JSON.stringify(r.body) === JSON.stringify({ origins: [BASE] }), `body ${JSON.stringify(r.body)}`);
    });
    await t.step('errors use the JSON envelope', async () => {
      const finish = '/auth/passkeys/authenticate/finish';
      // Not an AuthenticationResponseJSON: refused while parsing, before any state is looked up.
      assertError(await u.fetch('POST', finish, { credential: {}, state: 'nope' }), 400, 'invalid_request',
        'POST authenticate/finish with an empty credential');
      // Well-formed, with a state the server never issued.
      const credential = { id: 'AAAA', rawId: 'AAAA', type: 'public-key', clientExtensionResults: {},
        response: { clientDataJSON: 'e30', authenticatorData: 'AAAA', signature: 'AAAA' } };
      assertError(await u.fetch('POST', finish, { credential, state: 'nope' }), 400, 'challenge_not_found',
        'POST authenticate/finish with a bogus state');
      assertError(await u.fetch('GET', '/me'), 401, 'not_authenticated', 'GET /me signed out');
    });
  },

  async 'signal-api'(t) {
    // Record the Signal API calls passkeys.js makes (the real methods, where Chromium has them, are replaced).
    const u = await t.person('sig');
    await u.context.addInitScript(() => {
      window.__signals = [];
      for (const m of ['signalUnknownCredential', 'signalAllAcceptedCredentials', 'signalCurrentUserDetails']) {
        PublicKeyCredential[m] = (options) => { window.__signals.push([m, options]); return Promise.resolve(); };
      }
    });
    await u.home();
    const signals = () => u.page.evaluate(() => window.__signals.splice(0));
    await t.step('sign up', () => u.signup());
    await t.step('register two passkeys', async () => {
      await u.register('One');
      const B = await u.addAuthenticator(USB);
      await u.register('Two');
      return B;
    });
    await t.step('listing signals every accepted credential', async () => {
      await signals();
      const list = await u.page.evaluate(async () => {
        const res = await fetch('/auth/passkeys/credentials');
        Passkeys.applySignal(res);
        return res.json();
      });
      const s = await signals();
      assert(s.length === 1 && s[0][0] === 'signalAllAcceptedCredentials', `signals: ${JSON.stringify(s)}`);
      const ids = s[0][1].allAcceptedCredentialIds;
      assert(s[0][1].rpId === 'localhost' && typeof s[0][1].userId === 'string' && s[0][1].userId.length > 0,
        `options: ${JSON.stringify(s[0][1])}`);
      assert(JSON.stringify(ids) === JSON.stringify(list.map((c) => c.id)), `ids ${ids} vs list ${list.map((c) => c.id)}`);
    });
    await t.step('without the Signal API nothing is called and nothing breaks', async () => {
      const r = await u.page.evaluate(async () => {
        const saved = PublicKeyCredential.signalAllAcceptedCredentials;
        delete PublicKeyCredential.signalAllAcceptedCredentials;
        const res = await fetch('/auth/passkeys/credentials');
        const applied = Passkeys.applySignal(res);
        PublicKeyCredential.signalAllAcceptedCredentials = saved;
        return applied;
      });
      assert(r === false, 'applySignal reported a call');
      assert((await signals()).length === 0, 'a signal was recorded');
    });
  },

  async 'signup-signin'(t) {
    const u = await t.person('alice');
    await t.step('sign up', () => u.signup());
    await t.step('register a passkey', () => u.register('Laptop'));
    await t.step('sign out', () => u.ok('#signout', 'Signed out'));
    await t.step('signed out: GET /me is 401', () => u.expectSignedOut());
    await t.step('sign in username-first', () => u.ok('#signin-username', `Signed in as ${u.name}`));
    await t.step('#whoami after username-first', () => u.expectSignedIn());
    await t.step('sign out (2)', () => u.ok('#signout', 'Signed out'));
    await t.step('sign in usernameless', () => u.ok('#signin-usernameless', `Signed in as ${u.name}`));
    await t.step('#whoami after usernameless', () => u.expectSignedIn());
    await t.step('sign out (3)', () => u.ok('#signout', 'Signed out'));
    await t.step('reload: autofill (conditional mediation) signs in', async () => {
      await u.home();
      const r = await u.waitStatus(0);
      if (VERBOSE) console.log(`    ${u.name}: (page load) -> ${r.text}`);
      assert(r.kind === 'ok' && r.text.includes(`Signed in as ${u.name}`) && r.text.includes('autofill'),
        `expected an autofill sign-in, page says: ${r.text}`);
    });
    await t.step('#whoami after autofill', () => u.expectSignedIn());
  },

  async 'fallback-encoding'(t) {
    const u = await t.person('frank', { withoutJsonHelpers: true });
    await t.step('JSON helpers are really gone', async () => {
      const left = await u.page.evaluate(() => [typeof PublicKeyCredential.parseCreationOptionsFromJSON,
        typeof PublicKeyCredential.parseRequestOptionsFromJSON, typeof PublicKeyCredential.prototype.toJSON]);
      assert(left.every((x) => x === 'undefined'), `still present: ${left}`);
    });
    await t.step('sign up', () => u.signup());
    await t.step('register a passkey', () => u.register('Old browser'));
    await t.step('sign out', () => u.ok('#signout', 'Signed out'));
    await t.step('sign in username-first', () => u.ok('#signin-username', `Signed in as ${u.name}`));
    await t.step('sign out (2)', () => u.ok('#signout', 'Signed out'));
    await t.step('sign in usernameless', () => u.ok('#signin-usernameless', `Signed in as ${u.name}`));
    await t.step('#whoami', () => u.expectSignedIn());
  },

  async 'manage-passkeys'(t) {
    const u = await t.person('bob');
    const A = u.authenticator;
    await t.step('sign up', () => u.signup());
    await t.step('register passkey 1 (internal authenticator)', () => u.register('Laptop'));
    // excludeCredentials makes the same authenticator refuse a second passkey: use a second (usb) one.
    const B = await t.step('add a usb authenticator', () => u.addAuthenticator(USB));
    await u.presence(A, false);
    await t.step('register passkey 2 (usb authenticator)', () => u.register('Security key'));
    await u.presence(B, false);
    await u.presence(A, true);
    await t.step('sign in username-first', () => u.ok('#signin-username', `Signed in as ${u.name}`));
    const [idA, idB] = await t.step('list shows both passkeys', async () => {
      const rows = await u.rows();
      assert(rows.length === 2, `expected 2 rows, got ${rows.length}`);
      return [await u.rowNamed('Laptop'), await u.rowNamed('Security key')];
    });
    await t.step('rename passkey 1', async () => {
      await u.page.click(`li[data-id="${idA}"] .rename`);
      await u.page.fill(`li[data-id="${idA}"] .rename-input`, 'Work laptop <b>&');
      await u.ok(`li[data-id="${idA}"] .rename-save`, 'renamed');
      const row = (await u.rows()).find((r) => r.id === idA);
      assert(row && row.name === 'Work laptop <b>&', `row shows name ${row && row.name}`);
    });
    await t.step('revoke passkey 2', async () => {
      await u.ok(`li[data-id="${idB}"] .revoke`, 'revoked');
      const ids = (await u.rows()).map((r) => r.id);
      assert(ids.length === 1 && ids[0] === idA, `rows after revoke: ${JSON.stringify(ids)}`);
    });
    // The revoke answers with an allAcceptedCredentials signal; where the browser has the Signal API,
    // passkeys.js hands it over and the authenticator drops the revoked passkey.
    const signalApi = await u.page.evaluate(() => typeof PublicKeyCredential.signalAllAcceptedCredentials === 'function');
    await t.step('revoke reaches the authenticator through the Signal API', async () => {
      if (!signalApi) return;
      const held = await u.cdp.send('WebAuthn.getCredentials', { authenticatorId: B });
      assert(held.credentials.length === 0, `the usb authenticator still holds ${held.credentials.length} passkey(s)`);
      const kept = await u.cdp.send('WebAuthn.getCredentials', { authenticatorId: A });
      assert(kept.credentials.length === 1, `the internal authenticator holds ${kept.credentials.length} passkey(s)`);
    });
    await t.step('sign out', () => u.ok('#signout', 'Signed out'));
    await u.presence(A, false);
    await u.presence(B, true);
    await t.step('revoked passkey cannot sign in',
      () => u.fails('#signin-usernameless', signalApi ? 'client_NotAllowedError' : 'credential_not_found'));
    await t.step('still signed out', () => u.expectSignedOut());
    await u.presence(B, false);
    await u.presence(A, true);
    await t.step('remaining passkey still signs in', () => u.ok('#signin-usernameless', `Signed in as ${u.name}`));
  },

  async 'prf-key'(t) {
    const u = await t.person('paula', { authenticator: PRF });
    const seen = u.recordFinishes();
    await t.step('sign up', () => u.signup());
    await t.step('register a PRF-capable passkey', () => u.register('PRF key'));
    await t.step('sign in username-first', () => u.ok('#signin-username', `Signed in as ${u.name}`));
    await t.step('the listing says prfEnabled', async () => {
      const r = await u.fetch('GET', '/auth/passkeys/credentials');
      assert(r.status === 200 && r.body.length === 1 && r.body[0].prfEnabled === true, `GET credentials: ${r.text}`);
      const rows = await u.rows();
      assert(rows[0].text.includes('PRF'), `the row says: ${rows[0].text}`);
    });
    const first = await t.step('a key is derived in the page and decrypts what it encrypted', async () => {
      const p = await u.prf();
      assert(p.shown && /^[0-9a-f]{16}$/.test(p.keyId || '') && p.decrypted === 'Only this passkey can read this.',
        `#prf says: ${JSON.stringify(p)}`);
      return p.keyId;
    });
    await t.step('sign out', () => u.ok('#signout', 'Signed out'));
    await t.step('the same passkey and salt give the same key', async () => {
      await u.ok('#signin-username', `Signed in as ${u.name}`);
      const p = await u.prf();
      assert(p.keyId === first, `key ${p.keyId} after the second sign-in, ${first} after the first`);
    });
    await t.step('rotate the salt', () => u.ok('#prf-rotate', 'PRF salt rotated'));
    await t.step('a rotated salt gives another key', async () => {
      await u.ok('#signin-username', `Signed in as ${u.name}`);
      const p = await u.prf();
      assert(/^[0-9a-f]{16}$/.test(p.keyId || '') && p.keyId !== first, `key ${p.keyId} after rotation, ${first} before`);
    });
    const output = await t.step('Passkeys.signIn() returns the PRF output to the page', async () => {
      const r = await u.page.evaluate(async (userId) => {
        const res = await Passkeys.signIn({ userId });
        const bytes = new Uint8Array(res.prf.first);
        return { len: bytes.length, b64u: btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') };
      }, u.name);
      assert(r.len === 32, `prf.first has ${r.len} bytes`);
      return r.b64u;
    });
    await t.step('the PRF output never reaches the server', async () => {
      assert(seen.posted.length >= 5, `saw ${seen.posted.length} finish requests`);
      for (const body of seen.posted) {
        assert(!body.includes(output) && !body.includes('"results"'), `a finish body carries PRF results: ${body.slice(0, 300)}`);
      }
      const log = path.join(OUT, 'server.log');
      if (fs.existsSync(log)) assert(!fs.readFileSync(log, 'utf8').includes(output), 'the server log has the PRF output');
    });
    await t.step('sign out (2)', () => u.ok('#signout', 'Signed out'));
    await t.step('a usernameless sign-in gets no PRF output', async () => {
      await u.ok('#signin-usernameless', `Signed in as ${u.name}`);
      const p = await u.prf();
      assert(p.shown && !p.keyId && p.text.includes('no PRF output'), `#prf says: ${JSON.stringify(p)}`);
    });
  },

  async 'cross-device-upgrade'(t) {
    const u = await t.person('olga');
    const here = u.authenticator;
    const seen = u.recordFinishes();
    await t.step('sign up', () => u.signup());
    const phone = await t.step('a phone over hybrid', () => u.addAuthenticator(PHONE));
    await u.presence(here, false);
    await t.step('register the passkey on the phone', () => u.register('Phone'));
    await t.step('sign out', () => u.ok('#signout', 'Signed out'));
    await t.step('sign in with the phone: from another device',
      () => u.ok('#signin-username', `Signed in as ${u.name} (username first, from another device)`));
    await t.step('the answer says crossDevice and the page offers a passkey here', async () => {
      const last = seen.answered[seen.answered.length - 1];
      assert(last && last.crossDevice === true && last.status === 'ok', `authenticate/finish answered ${JSON.stringify(last)}`);
      assert(!(await u.page.isHidden('#upgrade')), 'no upgrade prompt');
    });
    await u.presence(phone, false);
    await u.presence(here, true);
    await t.step('create a passkey on this device', async () => {
      await u.ok('#upgrade-create', 'Passkey added on this device');
      assert(await u.page.isHidden('#upgrade'), 'the prompt is still shown');
      assert((await u.rows()).length === 2, `rows: ${JSON.stringify(await u.rows())}`);
    });
    await t.step('sign out (2)', () => u.ok('#signout', 'Signed out'));
    await t.step('sign in on this device: no prompt', async () => {
      const r = await u.ok('#signin-username', `Signed in as ${u.name}`);
      assert(!r.text.includes('another device'), `page says: ${r.text}`);
      assert(await u.page.isHidden('#upgrade'), 'the prompt is shown after a same-device sign-in');
      const last = seen.answered[seen.answered.length - 1];
      assert(last && !('crossDevice' in last), `authenticate/finish answered ${JSON.stringify(last)}`);
    });
  },

  async 'protected-page'(t) {
    const u = await t.person('carol');
    await t.step('signed out: GET /protected is 401', async () => {
      const r = await u.page.goto(`${BASE}/protected`);
      const text = await r.text();
      let body = null;
      try { body = JSON.parse(text); } catch (_) { /* not JSON: reported below */ }
      assertError({ status: r.status(), body, text }, 401, 'not_authenticated', 'GET /protected signed out');
      await u.home();
    });
    await t.step('sign up', () => u.signup());
    await t.step('register a passkey', () => u.register());
    await t.step('sign in', () => u.ok('#signin-username', `Signed in as ${u.name}`));
    await t.step('follow #protected-link', async () => {
      const [r] = await Promise.all([
        u.page.waitForResponse((res) => new URL(res.url()).pathname === '/protected'),
        u.page.click('#protected-link'),
      ]);
      assert(r.status() === 200, `GET /protected answered ${r.status()}`);
      const text = await u.page.textContent('body');
      assert(text.includes(`Protected: signed in as ${u.name}`), `protected page says: ${text.trim().slice(0, 200)}`);
      await u.screenshot('protected-page-signed-in.png');
      await u.home();
    });
    await t.step('sign out', () => u.ok('#signout', 'Signed out'));
    await t.step('signed out again: GET /protected is 401', async () => {
      assertError(await u.fetch('GET', '/protected'), 401, 'not_authenticated', 'GET /protected after sign-out');
    });
  },

  async 'clone-detection'(t) {
    const u = await t.person('dave');
    const A = u.authenticator;
    await t.step('sign up', () => u.signup());
    await t.step('register a passkey', () => u.register('Phone'));
    await t.step('sign in', () => u.ok('#signin-username', `Signed in as ${u.name}`));
    await t.step('sign out', () => u.ok('#signout', 'Signed out'));
    await t.step('roll the authenticator counter back (clone)', async () => {
      const { credentials } = await u.cdp.send('WebAuthn.getCredentials', { authenticatorId: A });
      assert(credentials.length === 1, `authenticator holds ${credentials.length} credentials`);
      const cred = credentials[0];
      assert(cred.signCount >= 2, `signCount is ${cred.signCount} after one sign-in`);
      await u.cdp.send('WebAuthn.removeCredential', { authenticatorId: A, credentialId: cred.credentialId });
      await u.cdp.send('WebAuthn.addCredential', { authenticatorId: A, credential: { ...cred, signCount: 1 } });
    });
    await t.step('cloned key is refused', () => u.fails('#signin-username', 'clone_detected'));
    await t.step('still signed out', () => u.expectSignedOut());
  },

  async 'user-verification'(t) {
    const u = await t.person('erin');
    const A = u.authenticator;
    await t.step('sign up', () => u.signup());
    await t.step('register a passkey', () => u.register());
    await t.step('sign out', () => u.ok('#signout', 'Signed out'));
    await u.cdp.send('WebAuthn.setUserVerified', { authenticatorId: A, isUserVerified: false });
    // UV is required (the server's default) and the authenticator cannot verify: the browser refuses.
    await t.step('sign-in without user verification is refused',
      () => u.fails('#signin-username', 'client_NotAllowedError'));
    await t.step('still signed out', () => u.expectSignedOut());
    // The browser refuses above; now make the authenticator *claim* success but clear the UV flag,
    // so the response reaches the server, which must refuse it (server default: UV required).
    await u.cdp.send('WebAuthn.setUserVerified', { authenticatorId: A, isUserVerified: true });
    await u.cdp.send('WebAuthn.setResponseOverrideBits', { authenticatorId: A, isBadUV: true });
    await t.step('server refuses an assertion without the UV flag',
      () => u.fails('#signin-username', 'assertion_verification_failed'));
    await t.step('still signed out (2)', () => u.expectSignedOut());
    await t.step('server refuses a registration without the UV flag', async () => {
      await u.page.fill('#username', `${u.name}-b`);
      await u.ok('#signup');
      await u.fails('#register', 'attestation_verification_failed');
      assert((await u.rows()).length === 0, 'a passkey without UV was stored');
    });
  },

  async isolation(t) {
    const g = await t.person('grace');
    const h = await t.person('heidi');
    const gid = await t.step('grace signs up, registers, signs in', async () => {
      await g.signup();
      await g.register('Grace key');
      await g.ok('#signin-username', `Signed in as ${g.name}`);
      return g.rowNamed('Grace key');
    });
    await t.step('heidi signs up, registers, signs in', async () => {
      await h.signup();
      await h.register('Heidi key');
      await h.ok('#signin-username', `Signed in as ${h.name}`);
    });
    await t.step("heidi's list has only her passkey", async () => {
      const rows = await h.rows();
      assert(rows.length === 1 && rows[0].id !== gid, `heidi sees ${JSON.stringify(rows.map((r) => r.name))}`);
      const api = await h.fetch('GET', '/auth/passkeys/credentials');
      assert(api.status === 200 && !api.body.some((c) => c.id === gid), `GET credentials: ${api.status} ${api.text}`);
    });
    await t.step("heidi cannot delete grace's passkey (404)", async () => {
      const r = await h.fetch('DELETE', `/auth/passkeys/credentials/${encodeURIComponent(gid)}`);
      assertError(r, 404, 'not_found', "DELETE of grace's passkey");
    });
    await t.step("heidi cannot rename grace's passkey (404)", async () => {
      const r = await h.fetch('PATCH', `/auth/passkeys/credentials/${encodeURIComponent(gid)}`, { deviceName: 'pwned' });
      assertError(r, 404, 'not_found', "PATCH of grace's passkey");
    });
    await t.step("grace's passkey is untouched", async () => {
      const r = await g.fetch('GET', '/auth/passkeys/credentials');
      const mine = r.status === 200 && r.body.find((c) => c.id === gid);
      assert(mine && mine.deviceName === 'Grace key', `grace's list: ${r.status} ${r.text}`);
    });
  },
};

// ---------------------------------------------------------------------------------------------------
async function runScenario(browser, name, fn) {
  const people = [];
  const t = {
    current: 'start',
    async person(n, opts) { const p = await Person.open(browser, n, opts); people.push(p); return p; },
    async step(label, f) { t.current = label; return f(); },
  };
  const started = Date.now();
  try {
    await fn(t);
    console.log(`ok ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
    return true;
  } catch (e) {
    console.log(`FAIL ${name}: ${t.current}: ${e.message.split('\n')[0]}`);
    for (const p of people) {
      for (const line of p.log.slice(-10)) console.log(`    [${p.name}] ${line}`);
    }
    return false;
  } finally {
    for (const [i, p] of people.entries()) await p.screenshot(`${name}${people.length > 1 ? `-${i + 1}` : ''}.png`);
    for (const p of people) await p.close();
  }
}

async function main() {
  if (ONLY && !scenarios[ONLY]) throw new Error(`E2E_ONLY=${ONLY}: no such scenario (${Object.keys(scenarios).join(', ')})`);
  fs.mkdirSync(OUT, { recursive: true });
  const timer = setTimeout(() => {
    console.log(`FAIL e2e: timeout: the whole run took more than ${TOTAL_TIMEOUT / 1000}s`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }, TOTAL_TIMEOUT);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  let passed = 0, failed = 0;
  try {
    for (const [name, fn] of Object.entries(scenarios)) {
      if (ONLY && ONLY !== name) continue;
      if (await runScenario(browser, name, fn)) passed++; else failed++;
    }
  } finally {
    await browser.close();
    clearTimeout(timer);
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.log(`FAIL e2e: setup: ${e.message.split('\n')[0]}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
