"""A tiny Django project for the Slack notifier's tests (Slack is a loopback server)."""

from testsupport.settings import BASE, databases

globals().update(BASE)

DATABASES = databases("slack")
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "eztaskmanager",
]
ROOT_URLCONF = "tests.urls"
# The notifiers are set per test: they point at a Slack stand-in on a free port.
EZTASKMANAGER = {"BACKEND": "immediate", "BASE_URL": "https://tm.example.com"}
