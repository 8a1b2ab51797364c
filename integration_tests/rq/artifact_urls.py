"""The admin, for test_rq_artifacts.py (the suite's own project has no URLs)."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
