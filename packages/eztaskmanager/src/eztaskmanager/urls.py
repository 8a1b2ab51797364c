"""Seed compatibility: ``include("eztaskmanager.urls")`` serves the admin package's log viewer.

New projects include ``eztaskmanager_admin.urls`` directly; both give the URL namespace
``eztaskmanager`` with ``log_viewer``, ``live_log_viewer`` and ``ajax_read_log_lines``.
"""

from django.core.exceptions import ImproperlyConfigured

try:
    from eztaskmanager_admin.urls import app_name, urlpatterns
except ImportError as exc:
    raise ImproperlyConfigured(
        'The log viewer pages need the admin package: pip install "django-eztaskmanager[admin]"'
    ) from exc

__all__ = ["app_name", "urlpatterns"]
