"""The API tokens section: a key shown once when issued, each staff member's own tokens only."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from eztaskmanager.models import ApiToken

ADD_URL = reverse("admin:eztaskmanager_apitoken_add")
LIST_URL = reverse("admin:eztaskmanager_apitoken_changelist")


def staff(username: str, superuser: bool = False) -> User:
    if superuser:
        return User.objects.create_superuser(username, f"{username}@example.com", "pw")
    user = User.objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="eztaskmanager",
            codename__in=["add_apitoken", "view_apitoken", "change_apitoken", "delete_apitoken"],
        )
    )
    return user


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def issued_key(response) -> str:
    [message] = [str(m) for m in get_messages(response.wsgi_request) if "key" in str(m)]
    return re.search(r"is: (\S+)\. Copy it now", message).group(1)


@pytest.mark.django_db
def test_add_shows_the_key_once_and_stores_its_digest():
    alice = staff("alice")
    client = logged_in(alice)
    response = client.post(ADD_URL, {"user": alice.pk, "name": "laptop"}, follow=True)
    assert response.status_code == 200
    key = issued_key(response)
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.prefix) == (alice, "laptop", key[:8])
    assert ApiToken.objects.authenticate(key) == token
    # Neither the list nor the token's page shows it again.
    for url in (LIST_URL, reverse("admin:eztaskmanager_apitoken_change", args=[token.pk])):
        page = client.get(url)
        assert page.status_code == 200
        assert key not in page.content.decode()
        assert f"{token.prefix}…" in page.content.decode()
    # The API takes it.
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/eztaskmanager/api/v1/").json()["user"] == "alice"


@pytest.mark.django_db
def test_staff_see_and_issue_only_their_own_tokens():
    alice, bob = staff("alice"), staff("bob")
    ApiToken.objects.issue(bob, "bob's")
    client = logged_in(alice)
    assert "bob&#x27;s" not in client.get(LIST_URL).content.decode()
    bobs = ApiToken.objects.get(user=bob)
    assert (
        client.get(reverse("admin:eztaskmanager_apitoken_change", args=[bobs.pk])).status_code
        == 302
    )
    response = client.post(ADD_URL, {"user": bob.pk, "name": "for bob"})
    assert response.status_code == 200  # the form again, with its error
    assert "user" in response.context["adminform"].form.errors
    assert not ApiToken.objects.filter(name="for bob").exists()


@pytest.mark.django_db
def test_superusers_see_and_issue_everyones():
    root, bob = staff("root", superuser=True), staff("bob")
    ApiToken.objects.issue(bob, "bob laptop")
    client = logged_in(root)
    assert "bob laptop" in client.get(LIST_URL).content.decode()
    response = client.post(ADD_URL, {"user": bob.pk, "name": "for bob"}, follow=True)
    key = issued_key(response)
    assert ApiToken.objects.authenticate(key).user == bob


@pytest.mark.django_db
def test_delete_revokes():
    alice = staff("alice")
    token, key = ApiToken.objects.issue(alice)
    client = logged_in(alice)
    url = reverse("admin:eztaskmanager_apitoken_delete", args=[token.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert ApiToken.objects.authenticate(key) is None


# The token section's URLs for each role: anonymous and non-staff go to the login page;
# staff without the token permissions are refused; with them, only their own tokens.
TOKEN_ROLES = ["anonymous", "nonstaff", "staff", "permitted", "superuser"]


def token_client(role: str) -> tuple[Client, User | None]:
    if role == "anonymous":
        return Client(), None
    if role == "nonstaff":
        user = User.objects.create_user("nonstaff", password="pw")
    elif role == "staff":
        user = User.objects.create_user("plainstaff", password="pw", is_staff=True)
    else:
        user = staff(role, superuser=role == "superuser")
    return logged_in(user), user


@pytest.mark.django_db
@pytest.mark.parametrize("role", TOKEN_ROLES)
def test_token_urls_permission_matrix(role):
    owner = staff("owner")
    others, _key = ApiToken.objects.issue(owner, "owner's")
    client, user = token_client(role)
    own = ApiToken.objects.issue(user, "own")[0] if user is not None else None
    urls = {
        "list": LIST_URL,
        "add": ADD_URL,
        "change_other": reverse("admin:eztaskmanager_apitoken_change", args=[others.pk]),
        "delete_other": reverse("admin:eztaskmanager_apitoken_delete", args=[others.pk]),
    }
    if own is not None:
        urls["change_own"] = reverse("admin:eztaskmanager_apitoken_change", args=[own.pk])
        urls["delete_own"] = reverse("admin:eztaskmanager_apitoken_delete", args=[own.pk])
    for name, url in urls.items():
        response = client.get(url)
        if role in ("anonymous", "nonstaff"):
            assert response.status_code == 302 and "/login/" in response["Location"], name
        elif role == "staff":
            assert response.status_code == 403, name
        elif role == "permitted" and name.endswith("_other"):
            # Not in their queryset: the admin says it does not exist and goes back.
            assert response.status_code == 302 and "/login/" not in response["Location"], name
        else:
            assert response.status_code == 200, (role, name)
    client.post(urls["delete_other"], {"post": "yes"})
    assert ApiToken.objects.filter(pk=others.pk).exists() == (role != "superuser")
