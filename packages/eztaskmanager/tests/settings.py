"""A tiny Django project for the core package's tests."""

from testsupport.settings import BASE, databases

globals().update(BASE)

DATABASES = databases("core")
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "eztaskmanager",
    "tests.testapp",
]
EZTASKMANAGER = {"BACKEND": "immediate"}
ROOT_URLCONF = "tests.urls"
