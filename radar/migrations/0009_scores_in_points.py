"""Scores and thresholds in points 0..100 (`radar.scoring`): the parts of a score were worth
1 (closeness), 0.5 (title, author) and 0.3 (abstract) and are worth 50, 25 and 15 points now,
so stored scores are multiplied by 50; thresholds by 80, so the old default 0.5 becomes the
new default 40 (which also counts the description's words)."""

from django.db import migrations, models

SQL = """
UPDATE radar_radar SET threshold = LEAST(100, GREATEST(5, threshold * 80));
UPDATE radar_match SET score = LEAST(100, score * 50);
"""
REVERSE = """
UPDATE radar_radar SET threshold = threshold / 80;
UPDATE radar_match SET score = score / 50;
"""


class Migration(migrations.Migration):
    dependencies = [("radar", "0008_radar_understood")]

    operations = [
        migrations.RunSQL(SQL, REVERSE),
        migrations.AlterField(
            model_name="radar", name="threshold", field=models.FloatField(default=40.0)
        ),
    ]
