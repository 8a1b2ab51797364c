"""``manage.py eztaskmanager_token``: issue a key (printed once), list tokens, revoke one;
never as a task, whose output other staff members read in its log."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from eztaskmanager.models import ApiToken, LaunchReport
from eztaskmanager.services.queues import get_task_service


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("eztaskmanager_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def alice(db) -> User:
    return User.objects.create_user("alice", is_staff=True)


def test_create_prints_only_a_key_that_authenticates(alice):
    out, err = run("create", "alice", "--name", "ci")
    key = out.strip()
    assert "\n" not in key and len(key) > 30
    token = ApiToken.objects.authenticate(key)
    assert token is not None and token.user == alice and token.name == "ci"
    assert token.prefix in err
    # Only the digest is stored.
    assert not ApiToken.objects.filter(key_digest=key).exists()
    assert key not in str(list(ApiToken.objects.values()))


def test_create_warns_about_users_the_api_refuses(db):
    User.objects.create_user("bob")  # not staff
    _out, err = run("create", "bob")
    assert "not an active staff member" in err


def test_create_for_an_unknown_user_fails(db):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        run("create", "nobody")


def test_list_shows_prefixes_never_keys(alice):
    User.objects.create_user("carol", is_staff=True)
    key_a = run("create", "alice", "--name", "laptop")[0].strip()
    key_c = run("create", "carol")[0].strip()
    ApiToken.objects.authenticate(key_a)
    out, _err = run("list")
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(key_a[:8]) and "\talice\tlaptop\t" in lines[0]
    assert "never used" not in lines[0] and "never used" in lines[1]
    assert key_a not in out and key_c not in out
    out, _err = run("list", "--user", "carol")
    assert out.splitlines() == [lines[1]]


def test_revoke_by_prefix_or_key(alice):
    first = run("create", "alice")[0].strip()
    second = run("create", "alice")[0].strip()
    out, _err = run("revoke", first[:8])
    assert "Revoked" in out
    assert ApiToken.objects.authenticate(first) is None
    run("revoke", second)
    assert ApiToken.objects.authenticate(second) is None
    with pytest.raises(CommandError, match="No token"):
        run("revoke", first[:8])


def test_keys_never_look_like_an_option(alice):
    """A key starting with "-" could not be revoked by its prefix: argparse takes it for an option."""
    keys = [ApiToken.objects.issue(alice)[1] for _ in range(200)]
    assert not [key for key in keys if key.startswith("-")]
    assert len(set(keys)) == 200


def test_revoke_refuses_an_ambiguous_prefix(alice):
    for key in ("samepref-one", "samepref-two"):
        ApiToken.objects.create(user=alice, prefix=key[:8], key_digest=key)
    with pytest.raises(CommandError, match="2 tokens"):
        run("revoke", "samepref")
    assert ApiToken.objects.count() == 2


def test_refuses_to_run_as_a_task(alice, task, command):
    """As a task, the key would land in the run's log: the run fails and no token is made."""
    token_task = task(command("eztaskmanager_token"), "create, alice")
    report = get_task_service().add(token_task)
    report.refresh_from_db()
    assert report.invocation_result == LaunchReport.RESULT_FAILED
    assert "not as a task" in "\n".join(report.get_log_lines())
    assert not ApiToken.objects.exists()
