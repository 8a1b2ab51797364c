"""API tokens: stored as a digest, found by their key, their last use written at most once a minute."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from eztaskmanager.models import ApiToken
from eztaskmanager.models.tokens import digest

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued():
    user = User.objects.create_user("ci-bot", is_staff=True)
    return ApiToken.objects.issue(user, "ci")


def test_only_the_digest_is_stored_and_the_key_finds_its_token(issued):
    token, key = issued
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_digest == digest(key) and key not in stored.key_digest
    assert stored.prefix == key[:8]
    assert ApiToken.objects.authenticate(key).pk == token.pk
    assert ApiToken.objects.authenticate(key + "x") is None


def test_an_inactive_user_s_token_finds_nothing(issued):
    token, key = issued
    User.objects.filter(pk=token.user_id).update(is_active=False)
    assert ApiToken.objects.authenticate(key) is None


def test_the_last_use_is_written_at_most_once_a_minute(issued):
    token, key = issued
    first = ApiToken.objects.authenticate(key).last_used_at
    with CaptureQueriesContext(connection) as queries:
        assert ApiToken.objects.authenticate(key).last_used_at == first
    assert len(queries) == 1  # the read: no write
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    assert ApiToken.objects.authenticate(key).last_used_at > first
