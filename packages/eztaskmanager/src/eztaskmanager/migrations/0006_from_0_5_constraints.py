"""From django-eztaskmanager 0.5's schema towards today's, step 3 of 3: constraints and indexes.

Once 0005 has filled and de-duplicated the rows: columns become NOT NULL, names unique,
log lines unique per report, and the log's own foreign key index and constraint go (the
unique (report, line) index serves every read; see ``eztaskmanager.models.logs``). From
here on the schema is the one a new database gets.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('eztaskmanager', '0005_from_0_5_fill'),
    ]

    operations = [
        migrations.AlterField(
            model_name='log',
            name='line',
            field=models.PositiveIntegerField(verbose_name='line'),
        ),
        migrations.AlterField(
            model_name='task',
            name='cached_last_invocation_n_errors',
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name='errors'),
        ),
        migrations.AlterField(
            model_name='task',
            name='cached_last_invocation_n_warnings',
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name='warnings'),
        ),
        migrations.AlterField(
            model_name='task',
            name='cached_last_invocation_result',
            field=models.CharField(blank=True, editable=False, max_length=20, verbose_name='last result'),
        ),
        migrations.AlterField(
            model_name='task',
            name='note',
            field=models.TextField(blank=True, help_text='A note on how this task is used.', verbose_name='note'),
        ),
        migrations.AlterField(
            model_name='task',
            name='scheduled_job_id',
            field=models.CharField(blank=True, editable=False, help_text='A unique identifier for the scheduled job, if any', max_length=255, verbose_name='scheduled job id'),
        ),
        migrations.AlterField(
            model_name='taskcategory',
            name='name',
            field=models.CharField(max_length=255, unique=True, verbose_name='name'),
        ),
        migrations.AddConstraint(
            model_name='appcommand',
            constraint=models.UniqueConstraint(fields=('app_name', 'name'), name='eztaskmanager_unique_command'),
        ),
        migrations.AddConstraint(
            model_name='log',
            constraint=models.UniqueConstraint(fields=('launch_report', 'line'), name='eztaskmanager_log_line'),
        ),
        migrations.AlterField(
            model_name='log',
            name='launch_report',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=models.deletion.CASCADE, related_name='logs', to='eztaskmanager.launchreport', verbose_name='launch report'),
        ),
        migrations.AddIndex(
            model_name='launchreport',
            index=models.Index(fields=['task', '-invocation_datetime'], name='eztm_report_task_idx'),
        ),
        migrations.AddIndex(
            model_name='task',
            index=models.Index(fields=['-cached_last_invocation_datetime'], name='eztm_task_last_run_idx'),
        ),
    ]
