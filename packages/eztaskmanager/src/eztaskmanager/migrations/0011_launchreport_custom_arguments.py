from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("eztaskmanager", "0010_armed_next_ride_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="launchreport",
            name="custom_arguments",
            field=models.BooleanField(
                default=False,
                help_text="Run once with other arguments than the task's.",
                verbose_name="other arguments",
            ),
        ),
    ]
