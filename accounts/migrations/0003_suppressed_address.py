import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_site_domain"),
    ]

    operations = [
        migrations.CreateModel(
            name="SuppressedAddress",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("email", models.EmailField(max_length=254, unique=True, verbose_name="address")),
                ("reason", models.CharField(choices=[("bounced", "bounced"), ("complained", "marked as spam")], max_length=12, verbose_name="reason")),
                ("detail", models.TextField(blank=True, verbose_name="detail")),
                ("event_id", models.CharField(blank=True, max_length=255)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="since")),
            ],
            options={
                "verbose_name": "suppressed address",
                "verbose_name_plural": "suppressed addresses",
            },
        ),
    ]
