"""Guards against hostile API input, before any view or service sees it.

What PostgreSQL or Python would otherwise turn into a 500 becomes a 4xx in the one
error shape (``billing_site.api_errors``):

- Request bodies have a byte limit per endpoint: a view's ``max_body_bytes``, else
  ``API_MAX_BODY_BYTES`` (1 MiB). Larger bodies are a 413, checked against
  ``Content-Length`` before anything is read (``ApiInputMiddleware``).
- JSON is parsed by orjson (it refuses NaN and Infinity and nests at most 1024
  levels without recursion) and then refused beyond ``MAX_JSON_DEPTH`` levels, or
  when a key or string anywhere holds a NUL character, which PostgreSQL cannot
  store (``HardenedJSONParser``); the error names the field as a dotted path.
- A NUL character in the URL path is a 404, in a query parameter a 400 naming it,
  on every page (staff and portal pages too).
- Ids in paths are ASCII digits (``billing_site.routers``, ``billing_site.ids``);
  a path that matches no route is a 404 in the error shape (``not_found``).
- Pagination's ``limit`` and ``offset`` are ASCII whole numbers of at most 18
  digits, else a 400 (``StrictLimitOffsetPagination``); ``limit`` is capped at
  1000.
- A query parameter and its deprecated alias, given with different values, are a
  400 naming the alias (``aliased_query_param``).
"""

from decimal import Decimal

import orjson
from django.conf import settings
from django.http import HttpResponseBadRequest, HttpResponseNotFound, JsonResponse
from django.views import defaults
from rest_framework import exceptions, pagination, parsers

MAX_JSON_DEPTH = 32
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
NUL_MESSAGE = "Must not contain NUL characters."
API_PREFIX = "/api/"


def _path(parent: str, key) -> str:
    return f"{parent}.{key}" if parent else str(key)


def json_problem(value) -> tuple[str, str] | None:
    """The first (field path, message) that makes parsed JSON unfit to store:
    nesting beyond ``MAX_JSON_DEPTH`` or a NUL character in a key or string.

    Iterative, so a deep document cannot exhaust the interpreter's stack.
    """
    stack = [(value, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path or "non_field_errors", NUL_MESSAGE
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_JSON_DEPTH:
            # Named by its top-level field: the full path is 32 segments long.
            top = path.split(".", 1)[0] if isinstance(value, dict) else ""
            return (
                top or "non_field_errors",
                f"JSON may nest at most {MAX_JSON_DEPTH} levels.",
            )
        if isinstance(item, dict):
            for key, child in item.items():
                child_path = _path(path, key)
                if "\x00" in str(key):
                    return path or "non_field_errors", NUL_MESSAGE
                stack.append((child, child_path, depth + 1))
        else:
            stack.extend(
                (child, _path(path, index), depth + 1)
                for index, child in enumerate(item)
            )
    return None


def parse_json_body(body: bytes):
    """Parsed JSON, or a ``ValidationError`` naming the field at fault."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise exceptions.ValidationError(
            {"non_field_errors": [f"Request body is not valid JSON: {error}"]}
        ) from None
    problem = json_problem(data)
    if problem is not None:
        field, message = problem
        raise exceptions.ValidationError({field: [message]})
    return data


def _as_decimals(value):
    """``value`` with every float replaced by the Decimal of its shortest text."""
    stack = [value]
    while stack:
        item = stack.pop()
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in list(pairs):
            if isinstance(child, float):
                item[key] = Decimal(repr(child))
            elif isinstance(child, (dict, list)):
                stack.append(child)
    return value


class HardenedJSONParser(parsers.JSONParser):
    """The API's JSON parser (see the module docstring for what it refuses).

    ``decimal_floats = True`` turns non-integer numbers into ``Decimal`` (their
    shortest decimal text, so 0.0015 stays 0.0015) for views that price with them.
    """

    decimal_floats = False

    def parse(self, stream, media_type=None, parser_context=None):
        data = parse_json_body(stream.read() if stream is not None else b"")
        if self.decimal_floats:
            if isinstance(data, float):
                return Decimal(repr(data))
            if isinstance(data, (dict, list)):
                return _as_decimals(data)
        return data


def _error(field: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"errors": {field: [message]}}, status=status)


def max_body_bytes(view_func) -> int:
    """The body limit of a view: its class's ``max_body_bytes``, else the API's."""
    view_class = getattr(view_func, "cls", None) or getattr(
        view_func, "view_class", None
    )
    limit = getattr(view_class, "max_body_bytes", None)
    if limit is None:
        limit = getattr(settings, "API_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)
    return limit


class ApiInputMiddleware:
    """Refuses a NUL in the path (404) or in a query parameter (400) on every
    page, in the API's error shape under ``/api/``; and, for the API, a body over
    the view's byte limit (413)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = request.path_info.startswith(API_PREFIX)
        if "\x00" in request.path_info:
            return (
                _error("detail", "Not found.", 404) if api else HttpResponseNotFound()
            )
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                if not api:
                    return HttpResponseBadRequest(
                        f"Query parameter {key!r} must not contain NUL characters."
                    )
                name = "non_field_errors" if "\x00" in key else key
                return _error(name, NUL_MESSAGE, 400)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.path_info.startswith(API_PREFIX):
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = max_body_bytes(view_func)
        if length > limit:
            return _error(
                "non_field_errors",
                f"Request body is {length} bytes; this endpoint accepts at most "
                f"{limit} bytes.",
                413,
            )
        return None


def _whole_number(params, name: str, default: int | None) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise exceptions.ValidationError(
            {name: ["Must be a whole number of at most 18 digits."]}
        )
    return int(raw)


def _limit_described(parameters: list, name: str, default: int, cap: int) -> list:
    """The pagination's schema parameters, the page size stating its bounds."""
    for parameter in parameters:
        if parameter["name"] == name:
            parameter["description"] = (
                f"Number of results per page, 1 to {cap} (default {default}); "
                "larger values are capped."
            )
    return parameters


class StrictLimitOffsetPagination(pagination.LimitOffsetPagination):
    """``limit`` (1 to ``max_limit``, larger values are capped) and ``offset`` as
    ASCII whole numbers; anything else is a 400 where DRF would fall back.

    Every list of the API is paginated so: ``{"count", "next", "previous",
    "results"}``. The usage events, too many to count, page by cursor
    (``StrictCursorPagination``): the same shape without ``count``."""

    max_limit = 1000

    def get_schema_operation_parameters(self, view):
        return _limit_described(
            super().get_schema_operation_parameters(view),
            self.limit_query_param,
            self.default_limit,
            self.max_limit,
        )

    def get_limit(self, request):
        limit = _whole_number(request.query_params, self.limit_query_param, None)
        if limit is None or limit == 0:
            return self.default_limit
        return min(limit, self.max_limit)

    def get_offset(self, request):
        return _whole_number(request.query_params, self.offset_query_param, 0)


class StrictCursorPagination(pagination.CursorPagination):
    """Cursor pagination whose page size (``limit``) is checked as above."""

    page_size_query_param = "limit"
    max_page_size = 1000

    def get_schema_operation_parameters(self, view):
        return _limit_described(
            super().get_schema_operation_parameters(view),
            self.page_size_query_param,
            self.page_size,
            self.max_page_size,
        )

    def get_page_size(self, request):
        size = _whole_number(request.query_params, self.page_size_query_param, None)
        if size is None or size == 0:
            return self.page_size
        return min(size, self.max_page_size or size)


def aliased_query_param(params, name: str, *aliases: str) -> tuple[str, str] | None:
    """``(the name given, its value)`` of query parameter ``name`` or of one of its
    deprecated ``aliases``; ``None`` when none is given (or all are empty).

    Two of them with different values are a 400 naming the alias."""
    given = [(key, params[key]) for key in (name, *aliases) if params.get(key)]
    if not given:
        return None
    for key, value in given[1:]:
        if value != given[0][1]:
            raise exceptions.ValidationError(
                {key: [f"A deprecated alias of {name}; give one of them."]}
            )
    return given[0]


def not_found(request, exception):
    """The site's 404 view: the error shape under ``/api/``, Django's page else.

    A path id that is not ASCII digits matches no route, so it ends here."""
    if request.path_info.startswith(API_PREFIX):
        return _error("detail", "Not found.", 404)
    return defaults.page_not_found(request, exception)
