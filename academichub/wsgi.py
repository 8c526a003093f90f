"""WSGI entry point for gunicorn."""

from __future__ import annotations

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academichub.settings")
application = get_wsgi_application()

# What every request would load first (the URL map and, through it, every view module) is
# loaded now, then the garbage collector stops scanning all these long-lived objects: with
# some 160,000 of them a full collection took about 3 ms of an average page at a million
# papers (bench/web.py); now a collection scans only what requests allocate.
get_resolver().url_patterns  # noqa: B018 (loads the URLconf)
gc.collect()
gc.freeze()
