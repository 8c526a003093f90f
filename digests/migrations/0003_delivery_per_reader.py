"""Deliveries become one per reader and period (issue 14).

The old rows were one per reader, radar and period, with an English and a Chinese briefing.
Each keeps its briefings in `briefing_ids` and its language (both, zh or en); the rows of one
reader and period are merged into the oldest one, which keeps the most advanced state (sent
over sending over pending over failed over skipped) with that row's timings and error, the most attempts
and any flag: the period counts as delivered, so the first dispatch after the upgrade never
mails a reader again for a period already mailed, and a row left `sending` is still flagged
for staff.
"""

import django.contrib.postgres.fields
from django.db import migrations, models

RANK = {"sent": 0, "sending": 1, "pending": 2, "failed": 3, "skipped": 4}


def per_reader(apps, schema_editor):
    Delivery = apps.get_model("digests", "Delivery")
    groups = {}
    for row in Delivery.objects.order_by("id").iterator():
        ids = [b for b in (row.briefing_zh_id, row.briefing_en_id) if b is not None]
        row.briefing_ids = ids
        if row.briefing_en_id and row.briefing_zh_id:
            row.language = "both"
        elif row.briefing_zh_id:
            row.language = "zh"
        else:
            row.language = "en"
        if row.is_test:
            row.save(update_fields=["briefing_ids", "language"])
            continue
        key = (row.user_id, row.cadence, row.period_start)
        kept = groups.get(key)
        if kept is None:
            groups[key] = row
            row.save(update_fields=["briefing_ids", "language"])
            continue
        kept.briefing_ids = kept.briefing_ids + [b for b in ids if b not in kept.briefing_ids]
        if RANK.get(row.state, 9) < RANK.get(kept.state, 9):
            kept.state, kept.sent_at, kept.message_id = row.state, row.sent_at, row.message_id
            # With the state its timings: a `sending` row without `sending_since` would never
            # be flagged as stale (deliveries_flag_stale), so never looked at again.
            kept.sending_since, kept.next_attempt_at = row.sending_since, row.next_attempt_at
            kept.last_error = row.last_error
        kept.flagged = kept.flagged or row.flagged
        if kept.state == "sending" and kept.sending_since is None:
            kept.flagged = True
        kept.attempts = max(kept.attempts, row.attempts)
        kept.save()
        row.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("digests", "0002_briefings"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="delivery",
            name="delivery_user_radar_period_uniq",
        ),
        migrations.AddField(
            model_name="delivery",
            name="briefing_ids",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.BigIntegerField(), blank=True, default=list, size=None
            ),
        ),
        migrations.AddField(
            model_name="delivery",
            name="language",
            field=models.CharField(
                choices=[("en", "English"), ("zh", "中文"), ("both", "Both")],
                default="en",
                max_length=4,
            ),
        ),
        migrations.RunPython(per_reader, migrations.RunPython.noop),
        migrations.RemoveField(model_name="delivery", name="briefing_en"),
        migrations.RemoveField(model_name="delivery", name="briefing_zh"),
        migrations.RemoveField(model_name="delivery", name="radar"),
        migrations.AddConstraint(
            model_name="delivery",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_test", False)),
                fields=("user", "cadence", "period_start"),
                name="delivery_user_period_uniq",
            ),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(fields=["user", "-period_start"], name="delivery_archive_idx"),
        ),
    ]
