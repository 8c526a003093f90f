from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("radar", "0003_subscriptions_seen_feed_token"),
    ]

    operations = [
        migrations.AddField(
            model_name="match",
            name="announced",
            field=models.DateField(null=True),
        ),
        migrations.RunSQL(
            "UPDATE radar_match AS m SET announced = p.announced "
            "FROM feeds_paper AS p WHERE p.id = m.paper_id",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="match",
            name="announced",
            field=models.DateField(),
        ),
        migrations.RemoveIndex(model_name="match", name="match_radar_score_idx"),
        migrations.AddIndex(
            model_name="match",
            index=models.Index(
                fields=["radar", "-announced", "-score", "id"], name="match_radar_feed_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="match",
            index=models.Index(fields=["announced"], name="match_announced_idx"),
        ),
    ]
