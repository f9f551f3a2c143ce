"""Factories for tests. Releases are made through the workflow, as every real path does."""

import secrets

import factory
from django.contrib.auth.models import Group, User

from checklists import workflow
from checklists.checklist_format.files import SEED_CHECKLIST, parse_checklist, store_checklist
from checklists.git import locations
from checklists.models import (
    MANAGERS_GROUP,
    ChecklistTemplate,
    Membership,
    Repository,
    Team,
    TemplateItem,
)


def sha() -> str:
    return secrets.token_hex(20)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


def ensure_default_template():
    """Transactional tests flush the database, data migrations included: reload the seed."""
    if not ChecklistTemplate.objects.filter(is_default=True).exists():
        store_checklist(
            parse_checklist(SEED_CHECKLIST.read_text()), ChecklistTemplate, TemplateItem, is_default=True
        )


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    owner = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        ensure_default_template()
        team = super()._create(model_class, *args, **kwargs)
        # The named owner holds the owner role, as the workflow keeps it (checklists/workflow/teams.py).
        Membership.objects.get_or_create(team=team, user=team.owner, defaults={"owner": True})
        return team


def add_member(
    team: Team, user: User, role: str = Membership.Role.MEMBER, *, owner: bool | None = None
) -> Membership:
    defaults: dict = {"role": role}
    if owner is not None:
        defaults["owner"] = owner
    membership, _ = Membership.objects.update_or_create(team=team, user=user, defaults=defaults)
    return membership


def make_manager(user: User) -> User:
    user.groups.add(Group.objects.get_or_create(name=MANAGERS_GROUP)[0])
    return user


def release_data(**overrides) -> dict:
    data = {
        "title": "Payments API 2.4",
        "kind": "standard",
        "repository": "https://git.example.com/payments/api.git",
        "commit": sha(),
        "version_before": "2.3.0",
        "version_after": "2.4.0",
        "description": "New refund endpoint.",
        "rollback_plan": "Redeploy 2.3.0 with the deploy job; alice approves.",
        "deployment_steps": "1. Run migrations. 2. Deploy the image. 3. Watch the error rate.",
        "known_limitations": "Refunds over 10k still need a manual step.",
    }
    data.update(overrides)
    return data


def register(team: Team, location: str) -> Repository:
    """The team's registered repository at `location`, registered now (as its owner would) if new."""
    canonical = locations.parse(location).canonical
    found = Repository.objects.filter(team=team, location=canonical).first()
    return found or workflow.register_repository(team, actor=None, location=location)


def make_release(team: Team, author: User, **overrides):
    data = release_data(**overrides)
    if isinstance(data["repository"], str) and not data["repository"].isdigit():
        data["repository"] = register(team, data["repository"]).location
    return workflow.create_release(actor=author, team=team, data=data)
