"""Settings of the demo suite's pytest process.

The tests drive the demo over HTTP as a user would; the demo has its own settings
(``demoproject.settings``) and database. These only let pytest-django start.
"""

from testsupport.settings import BASE, databases

globals().update(BASE)

DATABASES = databases("demo")
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
