"""Name the django.contrib.sites Site(id=1) after SITE_URL, for links in allauth's emails."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.color import no_style
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def site_domain() -> str:
    """The host[:port] part of SITE_URL."""
    return urlsplit(settings.SITE_URL).netloc or "localhost:8000"


def set_site(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Site = apps.get_model("sites", "Site")
    Site.objects.using(schema_editor.connection.alias).update_or_create(
        id=settings.SITE_ID, defaults={"domain": site_domain(), "name": "AcademicHub"}
    )
    # An explicit id leaves PostgreSQL's sequence behind; reset it as Django's own
    # create_default_site does, so a second Site can be added later.
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Site]):
            cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("sites", "0002_alter_domain_unique"),
    ]

    operations = [migrations.RunPython(set_site, migrations.RunPython.noop)]
