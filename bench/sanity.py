#!/usr/bin/env python3
"""Checks that a benchmarked server really verifies what the benchmark times: sanity.py BASE_URL.

Against any server of bench/run.sh (same wire contract, rp id localhost, origin
http://localhost:PORT): signs a user up, registers an ES256 passkey (attestation `none`), and
then expects
  - a valid username-first sign-in and a valid usernameless sign-in: 200;
  - a bad signature: 401;
  - the same state twice: 400 (challenges are single use);
  - usernameless with another user's handle, and username-first with another user's
    credential: 401 (reported, not fatal: the peers need not check these);
  - a counter that did not advance: 401.
Exits 1 naming the fatal expectations that failed. Needs `cryptography` and `cbor2` (the bench venv
has both). Only loopback URLs.
"""
import base64
import hashlib
import http.cookiejar
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

base = sys.argv[1].rstrip("/")
url = urllib.parse.urlparse(base)
if url.scheme != "http" or url.hostname not in ("127.0.0.1", "localhost", "::1"):
    sys.exit(f"sanity: refusing {base}: loopback http only")
origin = f"http://localhost:{url.port}"
rp_hash = hashlib.sha256(b"localhost").digest()
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
unb64 = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def post(opener, path, body):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"content-type": "application/json"})
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def register(name):
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    status, _ = post(opener, "/signup", {"username": name})
    assert status == 200, f"signup: {status}"
    status, begin = post(opener, "/auth/passkeys/register/begin", {})
    assert status == 200, f"register/begin: {status} {begin}"
    key = ec.generate_private_key(ec.SECP256R1())
    nums = key.public_key().public_numbers()
    cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: nums.x.to_bytes(32, "big"), -3: nums.y.to_bytes(32, "big")})
    cred_id = os.urandom(16)
    auth_data = rp_hash + bytes([0x45]) + (0).to_bytes(4, "big") + bytes(16) + len(cred_id).to_bytes(2, "big") + cred_id + cose
    client_data = json.dumps({"type": "webauthn.create", "challenge": begin["publicKey"]["challenge"],
                              "origin": origin, "crossOrigin": False}).encode()
    att = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
    credential = {"id": b64(cred_id), "rawId": b64(cred_id), "type": "public-key",
                  "response": {"clientDataJSON": b64(client_data), "attestationObject": b64(att),
                               "transports": ["internal"]},
                  "clientExtensionResults": {"credProps": {"rk": True}}}
    status, done = post(opener, "/auth/passkeys/register/finish",
                        {"credential": credential, "state": begin["state"], "deviceName": "sanity"})
    assert status == 200, f"register/finish: {status} {done}"
    return {"name": name, "key": key, "id": cred_id, "handle": unb64(begin["publicKey"]["user"]["id"]), "counter": 0}


def begin(opener, user):
    status, b = post(opener, "/auth/passkeys/authenticate/begin", {"userId": user["name"]} if user else {})
    assert status == 200, f"authenticate/begin: {status} {b}"
    return b


def assertion(user, challenge, counter=None, handle=None, bad_sig=False):
    if counter is None:
        user["counter"] += 1
        counter = user["counter"]
    auth_data = rp_hash + bytes([0x05]) + counter.to_bytes(4, "big")
    client_data = json.dumps({"type": "webauthn.get", "challenge": challenge, "origin": origin,
                              "crossOrigin": False}).encode()
    sig = user["key"].sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
    if bad_sig:
        sig = user["key"].sign(b"something else", ec.ECDSA(hashes.SHA256()))
    return {"id": b64(user["id"]), "rawId": b64(user["id"]), "type": "public-key",
            "response": {"clientDataJSON": b64(client_data), "authenticatorData": b64(auth_data),
                         "signature": b64(sig), "userHandle": b64(handle or user["handle"])},
            "clientExtensionResults": {}}


def finish(opener, credential, state):
    return post(opener, "/auth/passkeys/authenticate/finish", {"credential": credential, "state": state})


tag = b64(os.urandom(6))
alice, bob = register(f"sanity-a-{tag}"), register(f"sanity-b-{tag}")
o = urllib.request.build_opener()
failures = []


def expect(what, got, want, fatal=True):
    status = got[0]
    ok = status == want
    body = json.dumps(got[1])[:100] if not ok else ""
    print(f"  {'ok  ' if ok else 'FAIL' if fatal else 'no  '} {what}: {status} {body}".rstrip())
    if not ok and fatal:
        failures.append(what)


b = begin(o, alice)
expect("username-first sign-in", finish(o, assertion(alice, b["publicKey"]["challenge"]), b["state"]), 200)
b = begin(o, None)
expect("usernameless sign-in", finish(o, assertion(alice, b["publicKey"]["challenge"]), b["state"]), 200)
b = begin(o, alice)
expect("bad signature refused", finish(o, assertion(alice, b["publicKey"]["challenge"], bad_sig=True), b["state"]), 401)
b = begin(o, alice)
cred = assertion(alice, b["publicKey"]["challenge"])
expect("valid sign-in", finish(o, cred, b["state"]), 200)
expect("the same state twice refused", finish(o, cred, b["state"]), 400)
accepted = alice["counter"]  # the counter the server holds now
# Not fatal: the peers differ here on purpose or by design (docs/wire.md "Compared with fastapi-passkeys").
b = begin(o, None)
expect("usernameless with another user's handle refused",
       finish(o, assertion(alice, b["publicKey"]["challenge"], handle=bob["handle"]), b["state"]), 401, fatal=False)
b = begin(o, bob)
expect("username-first with another user's credential refused",
       finish(o, assertion(alice, b["publicKey"]["challenge"]), b["state"]), 401, fatal=False)
b = begin(o, alice)
expect("counter that did not advance refused",
       finish(o, assertion(alice, b["publicKey"]["challenge"], counter=accepted), b["state"]), 401)
if failures:
    sys.exit(f"sanity: {base} failed: {', '.join(failures)}")
