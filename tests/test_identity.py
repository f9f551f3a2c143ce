"""Identity without the provider process: the group mapping, the ID token checks releasegate adds
to mozilla-django-oidc, roles following groups in the workflow, and password sign-in turned off.
(tests/idp/ signs in through a real provider.)"""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import Group, User
from django.core.exceptions import SuspiciousOperation
from django.urls import reverse

from checklists import workflow
from checklists.errors import TransitionError
from checklists.identity.backend import CompanyOIDCBackend
from checklists.models import MANAGERS_GROUP, AuditEvent, ExternalIdentity, Membership
from checklists.policy import group_roles as mapping
from checklists.workflow.identity import sign_in_from_provider

from .helpers.processes import start_django

ISSUER = "https://login.example.com"
CLIENT = "releasegate"
ROLES = "payments-reviewers=payments:reviewer, payments-devs=payments:member; payments-leads=payments:owner\neng=manager"


# --- the mapping ----------------------------------------------------------------------------


def test_the_mapping_gives_the_highest_role_and_the_owner_role_per_team():
    grants = mapping.parse(ROLES + ", payments-devs=identity:member")
    teams, manager = mapping.roles_for(["payments-devs", "payments-leads", "other"], grants)
    assert teams["payments"] == mapping.TeamRole("member", True, ("payments-devs", "payments-leads"))
    assert teams["identity"].role == "member" and not manager
    teams, manager = mapping.roles_for(["payments-reviewers", "eng"], grants)
    assert teams["payments"].role == "reviewer" and manager
    assert mapping.roles_for([], grants) == ({}, False)


@pytest.mark.parametrize(
    "text", ["payments-reviewers", "g=payments", "g=payments:admin", "g=Payments:member", "=payments:member"]
)
def test_a_malformed_mapping_is_refused(text):
    with pytest.raises(mapping.MappingError):
        mapping.parse(text)


def test_the_groups_claim_may_be_a_list_or_one_name():
    assert mapping.groups_from_claim(["a", 3, "", "b"]) == ["a", "b"]
    assert mapping.groups_from_claim("a") == ["a"]
    assert mapping.groups_from_claim(None) == []


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"OIDC_ISSUER": ISSUER}, "set OIDC_CLIENT_ID and OIDC_CLIENT_SECRET"),
        ({"RELEASEGATE_PASSWORD_LOGIN": "0"}, "leaves no way to sign in"),
        (
            {
                "OIDC_ISSUER": ISSUER,
                "OIDC_CLIENT_ID": "c",
                "OIDC_CLIENT_SECRET": "s",
                "OIDC_GROUP_ROLES": "x=y",
            },
            "OIDC_GROUP_ROLES",
        ),
    ],
)
def test_start_up_refuses_an_identity_configuration_that_cannot_work(env, says):
    started = start_django(**env)
    assert started.returncode == 2 and says in started.stderr


# --- the ID token checks -------------------------------------------------------------------


@pytest.fixture
def signer(settings):
    settings.OIDC_ISSUER = ISSUER
    settings.OIDC_RP_CLIENT_ID = CLIENT
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def sign(**overrides):
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": CLIENT, "sub": "s-1", "iat": now, "exp": now + 300, "nonce": "n"}
        claims.update(overrides)
        return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="RS256")

    return sign, key.public_key()


def test_a_well_formed_id_token_is_accepted(signer):
    sign, public = signer
    assert CompanyOIDCBackend()._verify_jws(sign(), public)["sub"] == "s-1"
    several = sign(aud=[CLIENT, "other"], azp=CLIENT)
    assert CompanyOIDCBackend()._verify_jws(several, public)["azp"] == CLIENT


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "https://evil.example.com"},
        {"aud": "another-client"},
        {"aud": [CLIENT, "other"], "azp": "other"},
        {"exp": int(time.time()) - 3600},
        {"exp": None},
        {"iat": None},
        {"sub": None},
    ],
    ids=["issuer", "audience", "authorized-party", "expired", "no-expiry", "no-issued-at", "no-subject"],
)
def test_an_id_token_signed_right_but_saying_the_wrong_thing_is_refused(signer, claims):
    sign, public = signer
    with pytest.raises(SuspiciousOperation):
        CompanyOIDCBackend()._verify_jws(sign(**claims), public)


def test_loading_the_backend_reads_no_settings_from_the_network(settings):
    settings.OIDC_ISSUER = "http://127.0.0.1:9"  # nothing listens: a network call would fail
    CompanyOIDCBackend()  # Django loads it for each request of a signed-in person


# --- roles following groups (the workflow, on the database) --------------------------------


@pytest.fixture
def grants(settings):
    settings.OIDC_GROUP_ROLE_GRANTS = mapping.parse(ROLES)


def claims(sub="s-erin", **extra):
    return {"sub": sub, "email": "erin@corp.example.com", "preferred_username": "erin", **extra}


def test_a_first_sign_in_creates_one_person_and_audits_it(grants, team):
    erin = sign_in_from_provider(issuer=ISSUER, subject="s-erin", claims=claims(), groups=["payments-devs"])
    again = sign_in_from_provider(issuer=ISSUER, subject="s-erin", claims=claims(), groups=["payments-devs"])
    assert erin == again and User.objects.filter(username__startswith="erin").count() == 1
    assert AuditEvent.objects.filter(verb="identity.signed_in").count() == 1


def test_a_taken_user_name_gets_a_suffix_and_never_the_other_account(grants, team, alice):
    person = sign_in_from_provider(
        issuer=ISSUER,
        subject="s-2",
        claims=claims("s-2", preferred_username="alice", email="a2@x.example"),
        groups=[],
    )
    assert person != alice and person.username == "alice-2"


def test_a_membership_from_groups_cannot_be_changed_on_the_team_page(grants, team, bob):
    erin = sign_in_from_provider(issuer=ISSUER, subject="s-erin", claims=claims(), groups=["payments-devs"])
    with pytest.raises(TransitionError) as refused:
        workflow.change_member(team, actor=bob, user=erin, role="reviewer")
    assert refused.value.code == "managed_by_identity_provider" and "payments-devs" in refused.value.message
    with pytest.raises(TransitionError):
        workflow.remove_member(team, actor=bob, user=erin)


def test_a_manager_named_by_staff_stays_a_manager_without_the_group(grants, team, carol):
    ExternalIdentity.objects.create(user=carol, issuer=ISSUER, subject="s-carol")
    sign_in_from_provider(issuer=ISSUER, subject="s-carol", claims=claims("s-carol"), groups=[])
    assert carol.groups.filter(name=MANAGERS_GROUP).exists()


def test_the_named_queue_owner_moves_when_the_groups_take_the_owner_role(grants, team, bob, dave):
    erin = sign_in_from_provider(issuer=ISSUER, subject="s-erin", claims=claims(), groups=["payments-leads"])
    team.owner = erin
    team.save()
    sign_in_from_provider(issuer=ISSUER, subject="s-erin", claims=claims(), groups=["payments-devs"])
    team.refresh_from_db()
    assert team.owner == bob  # the other owner
    assert not Membership.objects.get(team=team, user=erin).owner


def test_groups_naming_a_team_that_does_not_exist_change_nothing(settings, team):
    settings.OIDC_GROUP_ROLE_GRANTS = mapping.parse("g=nowhere:reviewer")
    person = sign_in_from_provider(issuer=ISSUER, subject="s-x", claims=claims("s-x"), groups=["g"])
    assert not Membership.objects.filter(user=person).exists()
    assert not Group.objects.filter(name=MANAGERS_GROUP, user=person).exists()


# --- the sign-in page ----------------------------------------------------------------------


def test_the_sign_in_page_shows_the_button_only_when_a_provider_is_configured(client, settings, db):
    assert 'data-testid="sso-sign-in"' not in client.get(reverse("login")).content.decode()
    assert client.get(reverse("oidc_authentication_init")).status_code == 404
    settings.OIDC_ISSUER, settings.OIDC_PROVIDER_NAME = ISSUER, "Okta"
    page = client.get(reverse("login") + "?next=/teams/").content.decode()
    assert "Sign in with Okta" in page and "/oidc/authenticate/?next=/teams/" in page


def test_with_passwords_off_a_right_password_is_refused_and_the_admin_sends_to_the_same_page(
    client, settings, alice
):
    settings.OIDC_ISSUER = ISSUER
    settings.RELEASEGATE_PASSWORD_LOGIN = False
    settings.AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend"]
    page = client.get(reverse("login")).content.decode()
    assert 'name="password"' not in page
    tried = client.post(reverse("login"), {"username": "alice", "password": "correct horse battery staple"})
    assert tried.status_code == 403 and "_auth_user_id" not in client.session
    assert client.get("/admin/login/?next=/admin/")["Location"] == "/accounts/login/?next=/admin/"
