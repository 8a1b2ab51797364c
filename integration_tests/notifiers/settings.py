"""Settings of the notifier integration tests: real SMTP and HTTP servers on loopback.

Tasks run with the ``immediate`` backend, through the core runner, so each test sees
exactly what a worker would send at the end of a run. The mail port and the notifiers
are set per test, since every server listens on a free port.
"""

from testsupport.settings import ADMIN_SITE, BASE, databases

globals().update(BASE)
globals().update(ADMIN_SITE)

DATABASES = databases("notifiers")
ROOT_URLCONF = "integration_tests.notifiers.urls"
# pytest-django switches EMAIL_BACKEND to locmem; the smtp fixture switches it back.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_TIMEOUT = 5
DEFAULT_FROM_EMAIL = "taskmanager@example.com"
EZTASKMANAGER = {"BACKEND": "immediate", "BASE_URL": "https://tm.example.com"}
