"""Django project of the browser tests: the admin, the log viewer, runs in child processes."""

from testsupport.settings import BASE, databases

globals().update(BASE)

DATABASES = databases("browser")
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "eztaskmanager",
    "eztaskmanager_admin",
    "integration_tests.browser.logapp",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "/static/"
ROOT_URLCONF = "integration_tests.browser.urls"
EZTASKMANAGER = {
    "BACKEND": "integration_tests.browser.backend.SubprocessBackend",
    "REPORT_LOG_TAIL_LINES": 10,
}
