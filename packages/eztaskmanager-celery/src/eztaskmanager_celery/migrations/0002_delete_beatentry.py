"""The beat's own bookkeeping table goes: the core's FiredDueTime rows say which due times
fired (once, by a unique row), and the task's next run is the beat's next due time."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("eztaskmanager_celery", "0001_initial"),
    ]

    operations = [
        migrations.DeleteModel(name="BeatEntry"),
    ]
