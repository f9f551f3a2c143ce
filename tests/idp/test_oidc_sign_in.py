"""Sign-in through a real OpenID Connect provider: users created, roles following groups, and every
forgery refused (state, nonce, PKCE verifier, tampered or re-signed ID tokens, a wrong issuer)."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache

from checklists.identity import discovery
from checklists.models import MANAGERS_GROUP, AuditEvent, ExternalIdentity, Membership
from tests.helpers.factories import add_member

from ..helpers.identity_provider import free_port, walk_to_callback

pytestmark = pytest.mark.django_db(transaction=True)


def finish(flow, base_url: str) -> requests.Response:
    return flow.session.get(flow.callback_url, allow_redirects=False, timeout=10)


def signed_in_as(session: requests.Session, base_url: str) -> str | None:
    """The user name the dashboard greets, or None when it sends the visitor to sign in."""
    page = session.get(f"{base_url}/profile/", allow_redirects=False, timeout=10)
    if page.status_code != 200:
        return None
    return page.text.split('<h1 class="h3 mb-3">', 1)[1].split("<", 1)[0].strip()


def session_of(flow) -> SessionStore:
    return SessionStore(session_key=flow.session.cookies["sessionid"])


def test_first_sign_in_creates_the_person_with_the_roles_of_their_groups(live_server, sso, team):
    password = sso.set_account("erin", groups=["payments-reviewers", "release-managers", "unmapped"])
    flow = walk_to_callback(live_server.url, "erin", password)
    done = finish(flow, live_server.url)
    assert done.status_code == 302 and urlsplit(done.headers["Location"]).path == "/"
    erin = User.objects.get(username="erin")
    assert not erin.has_usable_password() and erin.email == "erin@corp.example.com"
    membership = Membership.objects.get(team=team, user=erin)
    assert (membership.role, membership.owner, membership.source) == ("reviewer", False, "idp")
    assert membership.groups == ["payments-reviewers"]
    assert erin.groups.filter(name=MANAGERS_GROUP).exists()
    identity = ExternalIdentity.objects.get(user=erin)
    assert identity.issuer == sso.issuer and identity.subject == sso.accounts["erin"]["sub"]
    event = AuditEvent.objects.get(verb="identity.signed_in")
    assert event.payload["account"] == "created"
    assert (
        event.payload["after"]["payments"]["role"] == "reviewer" and event.payload["after"]["manager"] is True
    )
    assert signed_in_as(flow.session, live_server.url) == "erin"


def test_roles_follow_the_groups_at_every_sign_in_and_removals_are_audited(live_server, sso, team):
    password = sso.set_account("erin", groups=["payments-leads", "payments-reviewers", "release-managers"])
    finish(walk_to_callback(live_server.url, "erin", password), live_server.url)
    erin = User.objects.get(username="erin")
    assert Membership.objects.get(team=team, user=erin).owner

    sso.set_account("erin", groups=["payments-devs"])
    finish(walk_to_callback(live_server.url, "erin", password), live_server.url)
    membership = Membership.objects.get(team=team, user=erin)
    assert (membership.role, membership.owner) == ("member", False)
    assert not erin.groups.filter(name=MANAGERS_GROUP).exists()
    changed = AuditEvent.objects.filter(verb="identity.signed_in").order_by("-id").first()
    assert changed.payload["before"]["payments"]["role"] == "reviewer"
    assert changed.payload["after"]["payments"] == {"role": "member", "owner": False, "source": "idp"}
    assert changed.payload["before"]["manager"] is True and changed.payload["after"]["manager"] is False

    sso.set_account("erin", groups=[])
    flow = walk_to_callback(live_server.url, "erin", password)
    assert finish(flow, live_server.url).status_code == 302  # still signs in, with no team
    assert not Membership.objects.filter(team=team, user=erin).exists()
    removed = AuditEvent.objects.filter(verb="identity.signed_in").order_by("-id").first()
    assert removed.payload["after"] == {"payments": None}
    # Signing in again with the same groups changes nothing, and says nothing.
    count = AuditEvent.objects.filter(verb="identity.signed_in").count()
    finish(walk_to_callback(live_server.url, "erin", password), live_server.url)
    assert AuditEvent.objects.filter(verb="identity.signed_in").count() == count


def test_a_place_given_on_the_team_page_survives_a_sign_in_without_groups(live_server, sso, team, bob):
    password = sso.set_account("bob", groups=[], email=bob.email, verified=True)
    finish(walk_to_callback(live_server.url, "bob", password), live_server.url)
    assert ExternalIdentity.objects.get(user=bob)  # linked by the verified address, not a new account
    membership = Membership.objects.get(team=team, user=bob)
    assert (membership.role, membership.owner, membership.source) == ("reviewer", True, "local")


def test_an_unverified_address_never_links_to_an_existing_account(live_server, sso, team, bob):
    password = sso.set_account("mimic", groups=["payments-leads"], email=bob.email, verified=False)
    finish(walk_to_callback(live_server.url, "mimic", password), live_server.url)
    assert not ExternalIdentity.objects.filter(user=bob).exists()
    assert ExternalIdentity.objects.get(subject=sso.accounts["mimic"]["sub"]).user.username == "mimic"


def test_the_authorization_request_carries_pkce_state_and_nonce(live_server, sso, team):
    password = sso.set_account("erin", groups=[])
    flow = walk_to_callback(live_server.url, "erin", password)
    sent = flow.authorization
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) == 43
    assert len(sent["state"]) >= 32 and len(sent["nonce"]) >= 32
    assert "groups" in sent["scope"].split()
    stored = session_of(flow)["oidc_states"][sent["state"]]
    assert stored["nonce"] == sent["nonce"] and len(stored["code_verifier"]) == 64


def refused(response, base_url) -> bool:
    return response.status_code in (400, 403) and "sso-error" in response.text


def test_a_callback_whose_state_is_not_ours_is_refused(live_server, sso, team):
    password = sso.set_account("erin", groups=["payments-reviewers"])
    flow = walk_to_callback(live_server.url, "erin", password)
    parts = urlsplit(flow.callback_url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["state"] = "forged-" + query["state"][7:]
    forged = flow.session.get(urlunsplit(parts._replace(query=urlencode(query))), allow_redirects=False)
    assert refused(forged, live_server.url)
    assert not User.objects.filter(username="erin").exists()
    assert signed_in_as(flow.session, live_server.url) is None


def test_a_callback_is_used_once(live_server, sso, team):
    password = sso.set_account("erin", groups=[])
    flow = walk_to_callback(live_server.url, "erin", password)
    assert finish(flow, live_server.url).status_code == 302
    replay = requests.get(flow.callback_url, allow_redirects=False, timeout=10)  # another browser
    assert replay.status_code in (400, 403) and signed_in_as(requests.Session(), live_server.url) is None


def test_a_wrong_pkce_verifier_is_refused_by_the_provider_and_nobody_signs_in(live_server, sso, team):
    password = sso.set_account("erin", groups=["payments-reviewers"])
    flow = walk_to_callback(live_server.url, "erin", password)
    session = session_of(flow)
    states = session["oidc_states"]
    states[flow.authorization["state"]]["code_verifier"] = "x" * 64
    session["oidc_states"] = states
    session.save()
    answer = finish(flow, live_server.url)
    assert answer.status_code == 400 and "did not confirm the sign-in" in answer.text
    assert not User.objects.filter(username="erin").exists()


def test_an_id_token_with_another_nonce_is_refused(live_server, sso, team):
    password = sso.set_account("erin", groups=["payments-reviewers"])
    flow = walk_to_callback(live_server.url, "erin", password)
    session = session_of(flow)
    states = session["oidc_states"]
    states[flow.authorization["state"]]["nonce"] = "n" * 32
    session["oidc_states"] = states
    session.save()
    answer = finish(flow, live_server.url)
    assert refused(answer, live_server.url) and "Nonce" in answer.text
    assert not User.objects.filter(username="erin").exists()


# --- a forger between releasegate and the provider's token endpoint --------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def tamper_payload(token: str, **claims) -> str:
    """Change claims and keep the provider's signature (which no longer fits)."""
    header, payload, signature = token.split(".")
    data = json.loads(unb64(payload))
    data.update(claims)
    return ".".join([header, b64(json.dumps(data).encode()), signature])


def resign_hs256(token: str, secret: str) -> str:
    """Algorithm confusion: the same claims, signed with the client secret as an HMAC key."""
    data = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(data, secret, algorithm="HS256")


def resign_with_own_key(token: str) -> str:
    """The same claims and key id, signed with a key the provider never published."""
    header = jwt.get_unverified_header(token)
    data = jwt.decode(token, options={"verify_signature": False})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(data, key, algorithm="RS256", headers={"kid": header["kid"]})


class TokenForger:
    """A proxy for the token endpoint that hands releasegate a changed ID token."""

    def __init__(self, token_endpoint: str, change):
        forger = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                upstream = requests.post(
                    token_endpoint,
                    data=body,
                    headers={
                        k: v
                        for k, v in self.headers.items()
                        if k.lower() in ("authorization", "content-type")
                    },
                    timeout=10,
                )
                answer = upstream.json()
                if "id_token" in answer:
                    answer["id_token"] = change(answer["id_token"])
                    forger.forged += 1
                payload = json.dumps(answer).encode()
                self.send_response(upstream.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.forged = 0
        self.server = ThreadingHTTPServer(
            ("127.0.0.1", free_port(skip={int(urlsplit(token_endpoint).port)})), Handler
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def forge(sso):
    """Route releasegate's token requests through a forger (its discovered token endpoint, replaced)."""
    forgers = []

    def install(change) -> TokenForger:
        real = discovery.document()
        forger = TokenForger(real["token_endpoint"], change)
        cache.set(discovery._cache_key(), {**real, "token_endpoint": forger.url}, 600)
        forgers.append(forger)
        return forger

    yield install
    for forger in forgers:
        forger.close()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda t, s: tamper_payload(t, sub="sub-of-someone-else"), id="payload-changed"),
        pytest.param(lambda t, s: tamper_payload(t, aud="another-client"), id="audience-changed"),
        pytest.param(lambda t, s: tamper_payload(t, iss="https://evil.example.com"), id="issuer-changed"),
        pytest.param(lambda t, s: resign_hs256(t, s.client_secret), id="hs256-with-client-secret"),
        pytest.param(lambda t, s: resign_with_own_key(t), id="signed-by-another-key"),
        pytest.param(lambda t, s: t.rsplit(".", 1)[0] + ".", id="signature-stripped"),
    ],
)
def test_a_tampered_id_token_is_refused(live_server, sso, forge, team, change):
    password = sso.set_account("erin", groups=["payments-leads", "release-managers"])
    forger = forge(lambda token: change(token, sso))
    flow = walk_to_callback(live_server.url, "erin", password)
    answer = finish(flow, live_server.url)
    assert forger.forged == 1
    assert refused(answer, live_server.url), (answer.status_code, answer.text[:300])
    assert not User.objects.filter(username="erin").exists()
    assert not Membership.objects.filter(team=team, owner=True).exclude(user__username="bob").exists()
    assert signed_in_as(flow.session, live_server.url) is None


def test_the_same_forger_passing_the_token_unchanged_lets_the_sign_in_through(live_server, sso, forge, team):
    """The forger itself is sound: without a change, the sign-in succeeds."""
    password = sso.set_account("erin", groups=["payments-reviewers"])
    forge(lambda token: token)
    flow = walk_to_callback(live_server.url, "erin", password)
    assert finish(flow, live_server.url).status_code == 302
    assert signed_in_as(flow.session, live_server.url) == "erin"


def test_a_provider_that_names_another_issuer_is_not_used(live_server, sso, settings, team):
    settings.OIDC_ISSUER = sso.issuer.replace("127.0.0.1", "localhost")
    answer = requests.get(f"{live_server.url}/oidc/authenticate/", allow_redirects=False, timeout=10)
    assert answer.status_code == 502 and "cannot be reached" in answer.text


def test_passwords_turned_off_leave_only_the_provider(live_server, sso, settings, team, alice):
    settings.RELEASEGATE_PASSWORD_LOGIN = False
    settings.AUTHENTICATION_BACKENDS = [
        b for b in settings.AUTHENTICATION_BACKENDS if "ModelBackend" not in b
    ]
    session = requests.Session()
    page = session.get(f"{live_server.url}/accounts/login/", timeout=10)
    assert 'data-testid="sso-sign-in"' in page.text and 'name="password"' not in page.text
    token = session.cookies["csrftoken"]
    tried = session.post(
        f"{live_server.url}/accounts/login/",
        data={"username": "alice", "password": "correct horse battery staple", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{live_server.url}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )
    assert tried.status_code == 403 and signed_in_as(session, live_server.url) is None
    add_member(team, alice)  # alice signs in through the provider, as herself (verified address)
    password = sso.set_account("alice", groups=["payments-devs"], email=alice.email)
    flow = walk_to_callback(live_server.url, "alice", password)
    assert finish(flow, live_server.url).status_code == 302
    assert signed_in_as(flow.session, live_server.url) == "alice"
