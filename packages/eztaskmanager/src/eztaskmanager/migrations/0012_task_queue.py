from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("eztaskmanager", "0011_launchreport_custom_arguments"),
    ]

    operations = [
        migrations.AddField(
            model_name="task",
            name="queue",
            field=models.CharField(
                blank=True,
                help_text=(
                    "The queue the task's runs go to, so that the workers listening on it "
                    "run them; empty: the backend's default queue."
                ),
                max_length=255,
                verbose_name="queue",
            ),
        ),
    ]
