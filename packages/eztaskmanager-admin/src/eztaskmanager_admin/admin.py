"""The admin sections Commands, Tasks, Task categories, Launch reports, Workers and
schedulers, Audit events.

Django's admin autodiscovery imports this module: it registers each model with its
``ModelAdmin``, each written in a module of its own.
"""

from django.contrib import admin

from eztaskmanager.models import AppCommand, LaunchReport, ProcessHeartbeat, Task, TaskCategory
from eztaskmanager.models.audit import AuditEvent
from eztaskmanager_admin.audit_admin import AuditEventAdmin
from eztaskmanager_admin.category_admin import TaskCategoryAdmin
from eztaskmanager_admin.command_admin import AppCommandAdmin
from eztaskmanager_admin.health import ProcessHeartbeatAdmin
from eztaskmanager_admin.inlines import CategoryTaskInline, LaunchReportInline, TaskAuditInline
from eztaskmanager_admin.report_admin import LaunchReportAdmin
from eztaskmanager_admin.task_admin import TaskAdmin
from eztaskmanager_admin.token_admin import ApiToken, ApiTokenAdmin

admin.site.register(ApiToken, ApiTokenAdmin)
admin.site.register(AppCommand, AppCommandAdmin)
admin.site.register(TaskCategory, TaskCategoryAdmin)
admin.site.register(Task, TaskAdmin)
admin.site.register(LaunchReport, LaunchReportAdmin)
admin.site.register(ProcessHeartbeat, ProcessHeartbeatAdmin)
admin.site.register(AuditEvent, AuditEventAdmin)

__all__ = [
    "ApiTokenAdmin",
    "AppCommandAdmin",
    "AuditEventAdmin",
    "CategoryTaskInline",
    "LaunchReportAdmin",
    "LaunchReportInline",
    "ProcessHeartbeatAdmin",
    "TaskAdmin",
    "TaskAuditInline",
    "TaskCategoryAdmin",
]
