"""From django-eztaskmanager 0.5's schema (0001-0003) towards today's, step 1 of 3: new columns.

Adds what 0.5 lacked (report counters and end time, per-report line numbers, the task's
timeout and last report) and relaxes what changes meaning; columns that become NOT NULL or
unique stay as they were until 0005 has filled and de-duplicated them, and 0006 tightens
them. Schema and data changes are kept in separate migrations: on PostgreSQL, altering a
table in the transaction that updated its rows can fail ("pending trigger events").
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('eztaskmanager', '0003_alter_task_cached_next_ride_alter_task_scheduling'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='appcommand',
            options={'ordering': ['app_name', 'name'], 'verbose_name': 'command', 'verbose_name_plural': 'commands'},
        ),
        migrations.AlterModelOptions(
            name='launchreport',
            options={'ordering': ['-invocation_datetime'], 'verbose_name': 'launch report', 'verbose_name_plural': 'launch reports'},
        ),
        migrations.AlterModelOptions(
            name='log',
            options={'ordering': ['launch_report', 'line'], 'verbose_name': 'log line', 'verbose_name_plural': 'log lines'},
        ),
        migrations.AlterModelOptions(
            name='task',
            options={'ordering': [models.OrderBy(models.F('cached_last_invocation_datetime'), descending=True, nulls_last=True), 'name'], 'permissions': [('run_task', 'Can start and stop tasks')], 'verbose_name': 'task', 'verbose_name_plural': 'tasks'},
        ),
        migrations.AlterModelOptions(
            name='taskcategory',
            options={'ordering': ['name'], 'verbose_name': 'task category', 'verbose_name_plural': 'task categories'},
        ),
        migrations.AddField(
            model_name='launchreport',
            name='finished_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='finished at'),
        ),
        migrations.AddField(
            model_name='launchreport',
            name='job_id',
            field=models.CharField(blank=True, max_length=255, verbose_name='job id'),
        ),
        migrations.AddField(
            model_name='launchreport',
            name='n_log_errors',
            field=models.PositiveIntegerField(default=0, verbose_name='errors'),
        ),
        migrations.AddField(
            model_name='launchreport',
            name='n_log_lines',
            field=models.PositiveIntegerField(default=0, verbose_name='lines'),
        ),
        migrations.AddField(
            model_name='launchreport',
            name='n_log_warnings',
            field=models.PositiveIntegerField(default=0, verbose_name='warnings'),
        ),
        # NULL until 0005 numbers the lines of each report; NOT NULL from 0006 on.
        migrations.AddField(
            model_name='log',
            name='line',
            field=models.PositiveIntegerField(null=True, verbose_name='line'),
        ),
        migrations.AddField(
            model_name='task',
            name='cached_last_report',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='eztaskmanager.launchreport', verbose_name='last report'),
        ),
        migrations.AddField(
            model_name='task',
            name='timeout',
            field=models.PositiveIntegerField(blank=True, help_text="Seconds a run may last before the queue stops it; empty: the backend's.", null=True, verbose_name='timeout'),
        ),
        migrations.AlterField(
            model_name='appcommand',
            name='active',
            field=models.BooleanField(default=False, help_text='Only active commands can be used by tasks.', verbose_name='active'),
        ),
        migrations.AlterField(
            model_name='appcommand',
            name='app_name',
            field=models.CharField(max_length=255, verbose_name='app name'),
        ),
        migrations.AlterField(
            model_name='appcommand',
            name='name',
            field=models.CharField(max_length=100, verbose_name='name'),
        ),
        migrations.AlterField(
            model_name='launchreport',
            name='invocation_datetime',
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name='invocation datetime'),
        ),
        migrations.AlterField(
            model_name='launchreport',
            name='invocation_result',
            field=models.CharField(blank=True, choices=[('', '---'), ('ok', 'OK'), ('warnings', 'WARNINGS'), ('errors', 'ERRORS'), ('failed', 'FAILED'), ('stopped', 'STOPPED')], max_length=20, verbose_name='invocation result'),
        ),
        migrations.AlterField(
            model_name='launchreport',
            name='task',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='eztaskmanager.task', verbose_name='task'),
        ),
        migrations.AlterField(
            model_name='log',
            name='level',
            field=models.CharField(max_length=10, verbose_name='level'),
        ),
        migrations.AlterField(
            model_name='log',
            name='message',
            field=models.TextField(verbose_name='message'),
        ),
        migrations.AlterField(
            model_name='log',
            name='timestamp',
            field=models.DateTimeField(verbose_name='timestamp'),
        ),
        migrations.AlterField(
            model_name='task',
            name='arguments',
            field=models.TextField(blank=True, help_text='Separate arguments with a comma "," and values inside one argument with a space " ", e.g. -f, --secondarg param1 param2, --thirdarg=pippo. Quote values that contain commas or spaces: --title="Hello, world".', verbose_name='arguments'),
        ),
        migrations.AlterField(
            model_name='task',
            name='cached_last_invocation_datetime',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='last datetime'),
        ),
        migrations.AlterField(
            model_name='task',
            name='cached_next_ride',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='next execution time'),
        ),
        migrations.AlterField(
            model_name='task',
            name='category',
            field=models.ForeignKey(blank=True, help_text='Choose a category for this task', null=True, on_delete=django.db.models.deletion.SET_NULL, to='eztaskmanager.taskcategory', verbose_name='category'),
        ),
        migrations.AlterField(
            model_name='task',
            name='command',
            field=models.ForeignKey(limit_choices_to={'active': True}, on_delete=django.db.models.deletion.CASCADE, to='eztaskmanager.appcommand', verbose_name='command'),
        ),
        migrations.AlterField(
            model_name='task',
            name='name',
            field=models.CharField(max_length=255, verbose_name='name'),
        ),
        migrations.AlterField(
            model_name='task',
            name='repetition_period',
            field=models.CharField(blank=True, choices=[('minute', 'MINUTE'), ('hour', 'HOUR'), ('day', 'DAY'), ('week', 'WEEK'), ('month', 'MONTH')], max_length=20, verbose_name='repetition period'),
        ),
        migrations.AlterField(
            model_name='task',
            name='repetition_rate',
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='repetition rate'),
        ),
        # Wider (0.5 had 64 characters); NOT NULL from 0006 on.
        migrations.AlterField(
            model_name='task',
            name='scheduled_job_id',
            field=models.CharField(blank=True, editable=False, help_text='A unique identifier for the scheduled job, if any', max_length=255, null=True, verbose_name='scheduled job id'),
        ),
        migrations.AlterField(
            model_name='task',
            name='scheduling',
            field=models.DateTimeField(blank=True, null=True, verbose_name='initial scheduling'),
        ),
        migrations.AlterField(
            model_name='task',
            name='status',
            field=models.CharField(choices=[('idle', 'IDLE'), ('spooled', 'SPOOLED'), ('scheduled', 'SCHEDULED'), ('started', 'STARTED')], default='idle', editable=False, max_length=20, verbose_name='status'),
        ),
    ]
