"""The JSON API (django-ninja), with OpenAPI docs at /api/v1/docs."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(title="AcademicHub API", version="1", urls_namespace="api")
