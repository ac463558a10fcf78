"""Wire compatibility with fastapi-passkeys 0.1.2, checked with its own client.

fastapi-passkeys ships a software authenticator (`fastapi_passkeys.testing.SoftwareAuthenticator`)
that speaks its wire contract. This script drives the quickstart example with it, exactly as a
front end written for fastapi-passkeys would: same routes, same JSON in, same JSON out. It also
checks where we deliberately differ (clone handling, ownership answers) on the same wire.
Prints one line per check and `N passed, M failed`; exits non-zero on any failure.
"""

import json
import os
import sys
import urllib.error
import urllib.request
from http.cookiejar import CookieJar

from fastapi_passkeys.testing import SoftwareAuthenticator

BASE = os.environ["BASE_URL"]
SCOPE = BASE + "/auth/passkeys"
ORIGIN = BASE
results = []


class Client:
    def __init__(self):
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def call(self, method, url, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(req, timeout=10) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, (json.loads(raw) if raw else None)


def check(name, cond, detail=""):
    results.append(cond)
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))


def error_code(body):
    return (body or {}).get("error", {}).get("code")


def register(client, authenticator, name):
    status, begin = client.call("POST", SCOPE + "/register/begin", {})
    assert status == 200, (status, begin)
    credential = authenticator.create(begin["publicKey"], origin=ORIGIN)
    status, body = client.call(
        "POST", SCOPE + "/register/finish",
        {"credential": credential, "state": begin["state"], "deviceName": name},
    )
    return status, body


def sign_in(client, authenticator, user_id=None, **get_kwargs):
    status, begin = client.call("POST", SCOPE + "/authenticate/begin", {"userId": user_id})
    assert status == 200, (status, begin)
    assertion = authenticator.get(begin["publicKey"], origin=ORIGIN, **get_kwargs)
    return client.call("POST", SCOPE + "/authenticate/finish", {"credential": assertion, "state": begin["state"]})


def main():
    alice, mallory = Client(), Client()
    key = SoftwareAuthenticator()

    status, body = alice.call("POST", BASE + "/signup", {"username": "compat-alice"})
    check("signup", status == 200, body)
    status, begin = alice.call("POST", SCOPE + "/register/begin", {})
    check("register/begin shape", status == 200 and set(begin) == {"publicKey", "state"}
          and {"rp", "user", "challenge", "pubKeyCredParams"} <= set(begin["publicKey"]), begin)
    status, body = register(alice, key, "Compat key")
    check("register/finish", status == 200 and body.get("status") == "ok" and bool(body.get("credentialId")), body)
    credential_id = body.get("credentialId")

    status, views = alice.call("GET", SCOPE + "/credentials")
    fields = {"id", "deviceName", "transports", "backupEligible", "backupState", "createdAt", "lastUsedAt"}
    check("GET /credentials shape", status == 200 and len(views) == 1 and fields <= set(views[0])
          and views[0]["id"] == credential_id and views[0]["deviceName"] == "Compat key", views)

    status, body = alice.call("POST", SCOPE + "/logout")
    check("logout", status == 204, body)
    status, body = sign_in(alice, key, "compat-alice")
    check("sign in, username-first", status == 200 and body == {"status": "ok", "userId": "compat-alice"}, body)
    status, body = sign_in(alice, key, None)
    check("sign in, usernameless", status == 200 and body.get("userId") == "compat-alice", body)

    status, body = alice.call("PATCH", SCOPE + f"/credentials/{credential_id}", {"deviceName": "Renamed"})
    check("PATCH rename", status == 204, body)
    status, views = alice.call("GET", SCOPE + "/credentials")
    check("rename visible", views[0]["deviceName"] == "Renamed", views)

    # Where we differ on purpose, on the same wire: a counter that does not advance is refused,
    # the credential is kept; someone else's credential is a 404, not a silent 204.
    status, body = sign_in(alice, key, "compat-alice", sign_count=1)
    check("clone refused with clone_detected", status == 401 and error_code(body) == "clone_detected", body)
    status, views = alice.call("GET", SCOPE + "/credentials")
    check("credential kept after a clone attempt", len(views) == 1, views)
    mallory.call("POST", BASE + "/signup", {"username": "compat-mallory"})
    status, body = mallory.call("DELETE", SCOPE + f"/credentials/{credential_id}")
    check("DELETE of another user's credential is 404", status == 404 and error_code(body) == "not_found", body)
    status, body = mallory.call("POST", SCOPE + "/register/finish", {"credential": {}, "state": "x"})
    check("error envelope", status == 400 and error_code(body) == "invalid_request" and set(body) == {"error"}
          and set(body["error"]) == {"code", "message"}, body)

    status, body = alice.call("DELETE", SCOPE + f"/credentials/{credential_id}")
    check("DELETE own credential", status == 204, body)
    status, body = sign_in(Client(), key, None)
    check("revoked credential cannot sign in", status == 401 and error_code(body) == "credential_not_found", body)

    passed, failed = results.count(True), results.count(False)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
