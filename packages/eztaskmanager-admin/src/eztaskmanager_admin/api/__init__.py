"""The JSON API, version 1: tasks, reports, log lines and artifacts, start and stop.

Plain Django views (no REST framework needed), mounted by ``eztaskmanager_admin.urls`` at
``api/v1/``, with the admin's rules: an active staff member (by session, or by a personal
token sent as ``Authorization: Bearer <key>``) and the same model permissions and
:mod:`eztaskmanager.permissions` rules. See ``docs/reference/api.md``.
"""
