/*! actix-passkeys browser helper. Plain JS, no dependencies, no build step.
 * Served by the library at `<scope>/passkeys.js`. Exposes `window.Passkeys`:
 *   register({ base, deviceName, hints }) -> {"status":"ok","credentialId"} (+ prf, see below); `hints`
 *                                      (e.g. ['client-device']) replaces the server's configured hints for this call
 *   signIn({ base, userId, hints }) -> {"status":"ok","userId"}   (userId null/absent = usernameless), plus
 *                                      "crossDevice": true when the user signed in from another device (a
 *                                      phone over hybrid: offer register({ hints: ['client-device'] })),
 *                                      `authenticatorAttachment` as the browser reported it, and `prf`
 *   autofill({ base, signal })      -> same as signIn, via conditional mediation (browser autofill),
 *                                      or null when the browser has no conditional mediation
 *   upgrade({ base, deviceName, signal }) -> {"status":"ok","credentialId"} via conditional create (the
 *                                      browser's password manager adds a passkey without a dialog), or null
 *                                      when the browser cannot (no getClientCapabilities().conditionalCreate).
 *                                      Call it only right after a fresh password (non-passkey) sign-in.
 *   isSupported()                   -> boolean
 *   applySignal(response)           -> boolean: hands a `Passkeys-Signal` header of a fetch Response to the
 *                                      browser's Signal API (signalUnknownCredential, signalAllAcceptedCredentials,
 *                                      signalCurrentUserDetails) when it has that method; otherwise does nothing.
 *                                      The helper's own requests do this already; use it for your own fetches.
 * PRF (server config `prf(true)`): when the browser evaluated the passkey's PRF, the result of register(),
 * signIn() and autofill() has `prf: { first: ArrayBuffer }` (32 bytes): key material for the page's own
 * code (e.g. HKDF -> AES-GCM with WebCrypto). It is never sent to the server: `prf.results` is removed
 * from the credential before it is posted.
 * Every failure is a `Passkeys.PasskeyError` with `.code`, `.status` and `.message`: the server's
 * `{"error":{"code","message"}}` (status = HTTP status), or `client_<DOMException name>` (status 0)
 * when the browser refuses, e.g. `client_NotAllowedError` when the user cancels.
 */
(function (global) {
  'use strict';

  const DEFAULT_BASE = '/auth/passkeys';

  class PasskeyError extends Error {
    constructor(code, message, status) {
      super(message || code);
      this.name = 'PasskeyError';
      this.code = code;
      this.status = status || 0;
    }
  }

  function isSupported() {
    return typeof global.PublicKeyCredential === 'function' && !!(global.navigator && navigator.credentials);
  }

  const SIGNALS = ['unknownCredential', 'allAcceptedCredentials', 'currentUserDetails'];
  // The server's Signal API payload, {"<name>": options}, in the Passkeys-Signal header: applied where the
  // browser has PublicKeyCredential.signal<Name>, silently skipped elsewhere. Never throws.
  function applySignal(res) {
    try {
      const raw = res && res.headers && res.headers.get('Passkeys-Signal');
      const PKC = global.PublicKeyCredential;
      if (!raw || typeof PKC !== 'function') return false;
      const sig = JSON.parse(raw);
      const name = sig && typeof sig === 'object' ? Object.keys(sig)[0] : null;
      if (SIGNALS.indexOf(name) < 0) return false;
      const method = 'signal' + name.charAt(0).toUpperCase() + name.slice(1);
      if (typeof PKC[method] !== 'function') return false;
      Promise.resolve(PKC[method](sig[name])).catch(function () { /* advisory only */ });
      return true;
    } catch (_) {
      return false;
    }
  }

  async function post(base, path, body) {
    let res;
    try {
      res = await fetch(base + path, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (e) {
      throw new PasskeyError('network_error', e.message, 0);
    }
    applySignal(res);
    let data = null;
    try { data = JSON.parse(await res.text()); } catch (_) { /* empty or non-JSON body */ }
    if (!res.ok) {
      const err = (data && data.error) || {};
      throw new PasskeyError(err.code || 'http_' + res.status, err.message || res.statusText, res.status);
    }
    return data;
  }

  // ---- base64url <-> ArrayBuffer (only used when the browser lacks the JSON helpers) ----
  function fromB64u(s) {
    const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64u(buf) {
    const bytes = new Uint8Array(buf.buffer ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) : buf);
    let bin = '';
    for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  // Servers may send `null` for absent optional members; WebIDL dictionaries want them absent.
  function dropNulls(v) {
    if (Array.isArray(v)) return v.map(dropNulls);
    if (!v || typeof v !== 'object') return v;
    const out = {};
    Object.keys(v).forEach(function (k) { if (v[k] !== null) out[k] = dropNulls(v[k]); });
    return out;
  }
  // ArrayBuffers inside extension results (prf, largeBlob) would otherwise serialise as {}.
  function encodeBuffers(v) {
    if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return toB64u(v);
    if (!v || typeof v !== 'object') return v;
    const out = Array.isArray(v) ? [] : {};
    Object.keys(v).forEach(function (k) { out[k] = encodeBuffers(v[k]); });
    return out;
  }
  function withIds(list) {
    return list && list.map(function (c) { return Object.assign({}, c, { id: fromB64u(c.id) }); });
  }
  // prf inputs ({eval: {first}}, {evalByCredential: {id: {first}}}) with their salts as ArrayBuffers.
  function prfValues(v) {
    const out = { first: fromB64u(v.first) };
    if (v.second) out.second = fromB64u(v.second);
    return out;
  }
  function withPrf(extensions) {
    const prf = extensions && extensions.prf;
    if (!prf) return extensions;
    const out = {};
    if (prf.eval) out.eval = prfValues(prf.eval);
    if (prf.evalByCredential) {
      out.evalByCredential = {};
      Object.keys(prf.evalByCredential).forEach(function (id) { out.evalByCredential[id] = prfValues(prf.evalByCredential[id]); });
    }
    return Object.assign({}, extensions, { prf: out });
  }
  // The PRF outputs the browser gave the page, or null. Never posted: see withoutPrfResults.
  function prfResults(cred) {
    const ext = cred && typeof cred.getClientExtensionResults === 'function' ? cred.getClientExtensionResults() : {};
    const r = ext && ext.prf && ext.prf.results;
    if (!r || !r.first) return null;
    const out = { first: r.first };
    if (r.second) out.second = r.second;
    return out;
  }
  // The credential JSON without `clientExtensionResults.prf.results`: PRF outputs stay in the page.
  function withoutPrfResults(json) {
    const ext = json && json.clientExtensionResults;
    if (!ext || !ext.prf || !('results' in ext.prf)) return json;
    const prf = Object.assign({}, ext.prf);
    delete prf.results;
    return Object.assign({}, json, { clientExtensionResults: Object.assign({}, ext, { prf: prf }) });
  }
  // What the page gets back: the server's answer, plus what only the browser knows.
  function result(data, cred) {
    if (!data || typeof data !== 'object') return data;
    const prf = prfResults(cred);
    if (prf) data.prf = prf;
    if (cred && cred.authenticatorAttachment && data.authenticatorAttachment === undefined) {
      data.authenticatorAttachment = cred.authenticatorAttachment;
    }
    return data;
  }

  // The parsed options with the prf salts as ArrayBuffers, whether or not the browser's JSON parser knows prf.
  function parsedWithPrf(parsed, json) {
    if (json.extensions && json.extensions.prf) {
      parsed.extensions = Object.assign({}, parsed.extensions, { prf: withPrf(json.extensions).prf });
    }
    return parsed;
  }
  function creationOptions(json) {
    json = dropNulls(json);
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function') {
      return parsedWithPrf(PublicKeyCredential.parseCreationOptionsFromJSON(json), json);
    }
    const o = Object.assign({}, json, { challenge: fromB64u(json.challenge) });
    o.user = Object.assign({}, json.user, { id: fromB64u(json.user.id) });
    if (json.excludeCredentials) o.excludeCredentials = withIds(json.excludeCredentials);
    if (json.extensions) o.extensions = withPrf(json.extensions);
    return o;
  }
  function requestOptions(json) {
    json = dropNulls(json);
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function') {
      return parsedWithPrf(PublicKeyCredential.parseRequestOptionsFromJSON(json), json);
    }
    const o = Object.assign({}, json, { challenge: fromB64u(json.challenge) });
    if (json.allowCredentials) o.allowCredentials = withIds(json.allowCredentials);
    if (json.extensions) o.extensions = withPrf(json.extensions);
    return o;
  }

  function credentialJSON(cred) {
    return withoutPrfResults(rawCredentialJSON(cred));
  }
  function rawCredentialJSON(cred) {
    if (typeof cred.toJSON === 'function') return cred.toJSON();
    const r = cred.response;
    const response = { clientDataJSON: toB64u(r.clientDataJSON) };
    if (r.attestationObject) { // registration
      response.attestationObject = toB64u(r.attestationObject);
      response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
      if (typeof r.getAuthenticatorData === 'function') response.authenticatorData = toB64u(r.getAuthenticatorData());
      const spki = typeof r.getPublicKey === 'function' ? r.getPublicKey() : null;
      if (spki) response.publicKey = toB64u(spki);
      if (typeof r.getPublicKeyAlgorithm === 'function') response.publicKeyAlgorithm = r.getPublicKeyAlgorithm();
    } else { // assertion
      response.authenticatorData = toB64u(r.authenticatorData);
      response.signature = toB64u(r.signature);
      if (r.userHandle) response.userHandle = toB64u(r.userHandle);
    }
    return {
      id: cred.id, rawId: toB64u(cred.rawId), type: cred.type, response: response,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: encodeBuffers(cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}),
    };
  }

  function requireSupport() {
    if (!isSupported()) throw new PasskeyError('client_NotSupportedError', 'This browser does not support passkeys', 0);
  }
  // Runs a browser step; DOMExceptions (NotAllowedError, AbortError, ...) become PasskeyErrors.
  async function browser(fn) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof PasskeyError) throw e;
      throw new PasskeyError('client_' + ((e && e.name) || 'Error'), (e && e.message) || String(e), 0);
    }
  }

  async function register(opts) {
    const o = opts || {}, base = o.base || DEFAULT_BASE;
    requireSupport(); // before asking the server for a challenge
    // A per-call hint (e.g. ['client-device'] for a passkey on this device after a cross-device
    // sign-in) replaces the server's configured ones; hints only steer the browser's UI.
    const begin = await post(base, '/register/begin', Array.isArray(o.hints) ? { hints: o.hints } : {});
    const publicKey = begin.publicKey;
    const cred = await browser(function () {
      return navigator.credentials.create({ publicKey: creationOptions(publicKey) });
    });
    const body = { credential: credentialJSON(cred), state: begin.state };
    if (o.deviceName != null && o.deviceName !== '') body.deviceName = o.deviceName;
    return result(await post(base, '/register/finish', body), cred);
  }

  // Conditional create: after a fresh password sign-in, let the password manager add a passkey silently.
  async function upgrade(opts) {
    const o = opts || {}, base = o.base || DEFAULT_BASE;
    if (!isSupported() || typeof PublicKeyCredential.getClientCapabilities !== 'function') return null;
    const caps = await PublicKeyCredential.getClientCapabilities().catch(function () { return null; });
    if (!caps || !caps.conditionalCreate) return null;
    const begin = await post(base, '/register/begin', { mediation: 'conditional' });
    const cred = await browser(function () {
      const request = { mediation: 'conditional', publicKey: creationOptions(begin.publicKey) };
      if (o.signal) request.signal = o.signal;
      return navigator.credentials.create(request);
    });
    const body = { credential: credentialJSON(cred), state: begin.state };
    if (o.deviceName != null && o.deviceName !== '') body.deviceName = o.deviceName;
    return post(base, '/register/finish', body);
  }

  async function authenticate(base, userId, extra, hints) {
    requireSupport();
    const request = { userId: userId == null ? null : userId };
    if (hints) request.hints = hints;
    const begin = await post(base, '/authenticate/begin', request);
    const cred = await browser(function () {
      return navigator.credentials.get(Object.assign({ publicKey: requestOptions(begin.publicKey) }, extra));
    });
    return result(await post(base, '/authenticate/finish', { credential: credentialJSON(cred), state: begin.state }), cred);
  }

  function signIn(opts) {
    const o = opts || {};
    return authenticate(o.base || DEFAULT_BASE, o.userId, {}, o.hints);
  }

  async function autofill(opts) {
    const o = opts || {};
    const available = isSupported() && typeof PublicKeyCredential.isConditionalMediationAvailable === 'function' &&
      await PublicKeyCredential.isConditionalMediationAvailable().catch(function () { return false; });
    if (!available) return null;
    const extra = { mediation: 'conditional' };
    if (o.signal) extra.signal = o.signal;
    return authenticate(o.base || DEFAULT_BASE, null, extra);
  }

  global.Passkeys = {
    register: register, signIn: signIn, autofill: autofill, upgrade: upgrade, isSupported: isSupported,
    applySignal: applySignal, PasskeyError: PasskeyError,
  };
})(window);
