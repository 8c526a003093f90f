"""Scores and thresholds in points 0..100 (`radar.scoring`): the parts of a score were worth
1 (closeness), 0.5 (title, author) and 0.3 (abstract) and are worth 50, 40 and 25 points now,
so thresholds are multiplied by 80 (the old default 0.5, a title hit, becomes the new default
40) and stored scores by 50 (closeness, most of them), until the next rescore gives each its
exact points."""

from django.db import migrations, models

SQL = """
UPDATE radar_radar SET threshold = LEAST(95, GREATEST(5, threshold * 80));
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
