"""A tiny Django project for the admin package's tests."""

from testsupport.settings import ADMIN_SITE, BASE, databases

globals().update(BASE)
globals().update(ADMIN_SITE)

DATABASES = databases("admin")
ROOT_URLCONF = "tests.urls"
EZTASKMANAGER = {"BACKEND": "immediate", "REPORT_LOG_TAIL_LINES": 3}
