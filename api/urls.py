"""The API's URLs: ninja's, and JSON for what ninja leaves to Django (404, 405)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, path, re_path
from django.views.decorators.csrf import csrf_exempt

from api.api import api

View = Callable[..., HttpResponse]


def _json_405(view: View) -> View:
    """ninja answers a method it has no operation for in text; answer in JSON like the rest."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code != 405:
            return response
        answer = JsonResponse({"detail": "Method not allowed."}, status=405)
        answer["Allow"] = response["Allow"]
        return answer

    return wrapped


@csrf_exempt  # a 404 whatever the method: no session is used, so no CSRF check either
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other path under the API (a radar id that is not a number): a JSON 404."""
    return JsonResponse({"detail": "Not Found"}, status=404)


def _api_patterns() -> list[URLPattern | URLResolver]:
    patterns: list[URLPattern | URLResolver] = list(api.urls[0])
    for pattern in patterns:
        if not isinstance(pattern, URLPattern):
            continue
        if pattern.name == "api-root":
            # ninja's root (kept by name: ninja reverses it for the API's prefix) raises
            # Django's Http404, whose page is HTML (with DEBUG on, the debug page)
            pattern.callback = not_found
        else:
            pattern.callback = _json_405(pattern.callback)
    return patterns


urlpatterns = [
    path("", (_api_patterns(), api.urls[1], api.urls[2])),
    # [\s\S], not ".": a path with a newline in it (%0A) is still the API's, so still JSON
    re_path(r"^(?P<rest>[\s\S]*)\Z", not_found),
]
