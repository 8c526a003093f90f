"""A deleted radar's briefings are kept (their radar becomes null) with the radar's name, and
every email records the radars it showed, so the archive shows past emails as they were
mailed. Existing rows are filled from the radars as they are now (the closest there is to
what was mailed): briefings get their radar's name, and the emails that were sent (or
attempted) their radars."""

import django.db.models.deletion
from django.db import migrations, models

BRIEFING_NAMES = """
UPDATE digests_briefing AS b SET radar_name = r.name
FROM radar_radar AS r WHERE r.id = b.radar_id
"""

# One entry per radar of the email, as digests.email.RadarEntry reads it.
DELIVERY_RADARS = """
UPDATE digests_delivery AS d SET radars = COALESCE((
    SELECT jsonb_agg(jsonb_build_object(
        'id', g.radar_id, 'name', g.name, 'public', g.public,
        'owned', g.owner_id = d.user_id, 'briefings', to_jsonb(g.ids)
    ) ORDER BY g.radar_id)
    FROM (
        SELECT r.id AS radar_id, r.name, r.public, r.owner_id,
               array_agg(b.id ORDER BY b.id) AS ids
        FROM digests_briefing AS b JOIN radar_radar AS r ON r.id = b.radar_id
        WHERE b.id = ANY(d.briefing_ids)
        GROUP BY r.id
    ) AS g
), '[]'::jsonb)
WHERE d.state IN ('sent', 'failed', 'sending')
"""


class Migration(migrations.Migration):

    dependencies = [
        ('digests', '0006_briefing_is_test'),
        ('radar', '0012_radar_learned'),
    ]

    operations = [
        migrations.AddField(
            model_name='briefing',
            name='radar_name',
            field=models.CharField(blank=True, max_length=120, verbose_name='radar name'),
        ),
        migrations.AddField(
            model_name='delivery',
            name='radars',
            field=models.JSONField(blank=True, default=list, verbose_name='radars as mailed'),
        ),
        migrations.AlterField(
            model_name='briefing',
            name='radar',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='briefings', to='radar.radar', verbose_name='radar'),
        ),
        migrations.RunSQL(BRIEFING_NAMES, migrations.RunSQL.noop),
        migrations.RunSQL(DELIVERY_RADARS, migrations.RunSQL.noop),
    ]
