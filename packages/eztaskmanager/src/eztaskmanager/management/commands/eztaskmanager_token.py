"""Issue, list and revoke the personal tokens of the JSON API from a shell.

``create USERNAME [--name N]`` prints the new key alone on stdout (``KEY=$(...)`` works);
it is shown this once, only its digest is stored. The command refuses to run as a task:
a task's output goes to its log, which other staff members read.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from eztaskmanager.models import ApiToken
from eztaskmanager.models.tokens import PREFIX_LENGTH, digest
from eztaskmanager.progress import current_run


class Command(BaseCommand):
    help = "Issue (create), list and revoke the API tokens of users."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Issue a token and print its key once.")
        create.add_argument("username")
        create.add_argument("--name", default="", help="What the token is for.")
        listing = actions.add_parser("list", help="List tokens (never their keys).")
        listing.add_argument("--user", dest="username", help="Only this user's tokens.")
        revoke = actions.add_parser("revoke", help="Delete a token, so its key stops working.")
        revoke.add_argument("prefix", help="The token's prefix as listed, or its whole key.")

    def handle(self, *args: Any, **options: Any) -> None:
        if current_run() is not None:
            raise CommandError(
                "eztaskmanager_token handles API keys: run it from a shell, not as a task "
                "(a task's output is stored in its log)."
            )
        self.verbosity = options["verbosity"]
        action = options["action"]
        if action == "create":
            self.create(options["username"], options["name"])
        elif action == "list":
            self.list(options["username"])
        else:
            self.revoke(options["prefix"])

    def find_user(self, username: str) -> Any:
        model = get_user_model()
        try:
            return model._default_manager.get_by_natural_key(username)
        except model.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None

    def create(self, username: str, name: str) -> None:
        user = self.find_user(username)
        token, key = ApiToken.objects.issue(user, name)
        self.stdout.write(key)
        self.stderr.write(f"Issued token {token.prefix}… for {username}; its key is shown once.")
        if not (user.is_active and user.is_staff):
            self.stderr.write(
                f"Warning: {username} is not an active staff member: the API refuses them."
            )

    def list(self, username: str | None) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("user__username", "created_at")
        if username:
            tokens = tokens.filter(user=self.find_user(username))
        for token in tokens:
            used = (
                timezone.localtime(token.last_used_at).isoformat(timespec="seconds")
                if token.last_used_at
                else "never used"
            )
            created = timezone.localtime(token.created_at).isoformat(timespec="seconds")
            self.stdout.write(
                f"{token.prefix}\t{token.user.get_username()}\t{token.name or '-'}\t"
                f"created {created}\t{used}"
            )
        if not tokens and self.verbosity >= 1:
            self.stdout.write("No tokens.")

    def revoke(self, prefix: str) -> None:
        if len(prefix) > PREFIX_LENGTH:
            matches = ApiToken.objects.filter(key_digest=digest(prefix))
        else:
            matches = ApiToken.objects.filter(prefix=prefix)
        found = list(matches.select_related("user"))
        if not found:
            raise CommandError(f"No token with prefix {prefix!r}.")
        if len(found) > 1:
            owners = ", ".join(token.user.get_username() for token in found)
            raise CommandError(
                f"{len(found)} tokens have the prefix {prefix!r} (of {owners}): "
                "give the whole key, or delete one in the admin."
            )
        token = found[0]
        token.delete()
        self.stdout.write(f"Revoked token {token.prefix}… of {token.user.get_username()}.")
