"""Metering API: ``/api/v1/customers/`` and ``/api/v1/events/``.

The event endpoints are the ingestion hot path: they read the raw body with orjson,
hand plain dicts to ``services.usage_events_ingest`` (which validates in plain
Python) and render with orjson, skipping DRF's per-object serializers.
"""

from datetime import UTC, date, datetime

import django_filters
import orjson
from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from billing_site.api_fields import check_year
from billing_site.api_input import StrictCursorPagination, aliased_query_param
from billing_site.api_schema import customer_filter_parameters, error_response
from billing_site.collection import without_cycle_collection
from metering import (
    api_schema,  # noqa: F401  (the API key in the schema)
    ingestion,
    selectors,
    services,
)
from metering.ingestion import month_start
from metering.models import Customer, UsageEvent


class CustomerInputSerializer(serializers.Serializer):
    external_id = serializers.RegexField(
        r"^[\w.:@-]+$",
        max_length=128,
        error_messages={"invalid": "Use letters, digits and . _ : @ - only."},
    )
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    metadata = serializers.JSONField(required=False, default=dict)

    def validate_metadata(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value


class CustomerOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = [
            "id", "external_id", "name", "email", "metadata",
            "created_at", "updated_at",
        ]  # fmt: skip


class CustomerFilter(django_filters.FilterSet):
    external_id = django_filters.CharFilter()
    email = django_filters.CharFilter(lookup_expr="iexact")
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains")
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte"
    )

    class Meta:
        model = Customer
        fields = ["external_id", "email", "search", "created_after"]


def _time_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        OpenApiTypes.STR,
        description=description + " ISO 8601 date-time with a time zone, or a "
        "date (midnight UTC), in the years 2000 to 2100.",
    )


class CustomerUsageRowSerializer(serializers.Serializer):
    operation = serializers.CharField(
        required=False, help_text="When grouped by operation."
    )
    day = serializers.DateField(required=False, help_text="When grouped by day (UTC).")
    quantity = serializers.DecimalField(
        max_digits=30, decimal_places=6, help_text="Sum of the events' quantities."
    )
    event_count = serializers.IntegerField()


CustomerUsageOutputSerializer = inline_serializer(
    "CustomerUsageOutput",
    {
        "customer_id": serializers.CharField(help_text="The external id."),
        "from": serializers.DateTimeField(),
        "to": serializers.DateTimeField(),
        "group_by": serializers.ListField(
            child=serializers.ChoiceField(choices=["operation", "day"])
        ),
        "results": CustomerUsageRowSerializer(many=True),
    },
)


@extend_schema_view(
    create=extend_schema(
        request=CustomerInputSerializer, responses={201: CustomerOutputSerializer}
    ),
    update=extend_schema(
        request=CustomerInputSerializer, responses=CustomerOutputSerializer
    ),
    partial_update=extend_schema(
        request=CustomerInputSerializer, responses=CustomerOutputSerializer
    ),
    usage=extend_schema(
        parameters=[
            _time_parameter("from", "Start (inclusive); default: the month's start."),
            _time_parameter("to", "End (exclusive); default: now."),
            OpenApiParameter(
                "group_by",
                OpenApiTypes.STR,
                enum=["operation", "day", "operation,day", "day,operation"],
                description="Default: operation.",
            ),
        ],
        responses=CustomerUsageOutputSerializer,
    ),
)
class CustomerViewSet(viewsets.ModelViewSet):
    """Customers of the organization. ``{id}`` is the primary key or the external id."""

    permission_model = Customer
    action_permissions = {"usage": "metering.view_usageevent"}

    serializer_class = CustomerOutputSerializer
    filterset_class = CustomerFilter
    lookup_url_kwarg = "id"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Customer.objects.none()
        return selectors.customer_list(organization=self.request.organization)

    def get_object(self) -> Customer:
        return selectors.customer_get(
            organization=self.request.organization, key=self.kwargs["id"]
        )

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return CustomerInputSerializer
        return CustomerOutputSerializer

    def create(self, request, *args, **kwargs):
        data = CustomerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = services.customer_create(
            organization=request.organization, **data.validated_data
        )
        return Response(
            CustomerOutputSerializer(customer).data, status=status.HTTP_201_CREATED
        )

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        data = CustomerInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        customer = services.customer_update(
            customer=self.get_object(), **data.validated_data
        )
        return Response(CustomerOutputSerializer(customer).data)

    def destroy(self, request, *args, **kwargs):
        services.customer_delete(customer=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["get"])
    def usage(self, request, id=None):
        """Usage of the customer over ``[from, to)``, grouped by ``group_by``
        (``operation``, ``day`` or both, comma-separated; days in UTC). Defaults:
        the current month up to now, grouped by operation."""
        customer = self.get_object()
        now = timezone.now()
        start = parse_time_param(request.query_params, "from") or month_start(now)
        end = parse_time_param(request.query_params, "to") or now
        if end < start:
            raise ValidationError({"to": ["Must not be before 'from'."]})
        raw_group_by = request.query_params.get("group_by", "operation")
        group_by = [key.strip() for key in raw_group_by.split(",") if key.strip()]
        if not group_by or any(key not in USAGE_API_GROUPINGS for key in group_by):
            raise ValidationError(
                {"group_by": ["Use 'operation', 'day' or 'operation,day'."]}
            )
        totals = selectors.usage_totals(
            organization=request.organization,
            customer=customer,
            start=start,
            end=end,
            group_by=group_by,
        )
        results = []
        for total in totals:
            row = {}
            if "operation" in group_by:
                row["operation"] = total.operation
            if "day" in group_by:
                row["day"] = total.day.isoformat()
            row["quantity"] = str(total.quantity)
            row["event_count"] = total.event_count
            results.append(row)
        return Response(
            {
                "customer_id": customer.external_id,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "group_by": group_by,
                "results": results,
            }
        )


USAGE_API_GROUPINGS = ("operation", "day")


def parse_time_param(params, name: str) -> datetime | None:
    """An ISO 8601 date-time with time zone, or a date (midnight UTC), in the
    years the API accepts; 400 else."""
    value = params.get(name)
    if not value:
        return None
    try:
        if not value.isascii():
            raise ValueError(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            {name: ["Use an ISO 8601 date or date-time with a time zone."]}
        ) from None
    try:
        check_year(moment.year)
    except ValidationError as error:
        raise ValidationError({name: error.detail}) from None
    if moment.tzinfo is None:
        if len(value) == 10 and date.fromisoformat(value):
            return moment.replace(tzinfo=UTC)
        raise ValidationError({name: ["Include a time zone, e.g. 'Z' or '+02:00'."]})
    return moment


# Usage events ----------------------------------------------------------------------


class IngestRateThrottle(UserRateThrottle):
    """Ingestion's own request budget per key (``METERING_INGEST_RATE``, e.g.
    ``"1000000/minute"``), far above the general API rate: a busy product sends
    many small batches.

    Counted in fixed windows, one cache increment per request, where DRF's rate
    throttles keep every request time of the sliding window and store the whole
    list again on each request, a cost that grows with the rate it allows. The
    rate, identity and cache come from DRF's per-user throttle.
    """

    scope = "ingest"

    def get_rate(self) -> str:
        return getattr(settings, "METERING_INGEST_RATE", "1000000/minute")

    def allow_request(self, request, view) -> bool:
        limit, period = self.num_requests, self.duration
        now = self.timer()
        window = int(now // period)
        self.retry_after = (window + 1) * period - now
        key = f"{self.get_cache_key(request, view)}_{window}"
        # A missing or expired counter starts at 1; incr() is atomic where the
        # cache shares counters between processes (Redis).
        if self.cache.add(key, 1, timeout=period + 1):
            return limit >= 1
        try:
            return self.cache.incr(key) <= limit
        except ValueError:  # the counter expired between add() and incr()
            self.cache.add(key, 1, timeout=period + 1)
            return limit >= 1

    def wait(self) -> float:
        return self.retry_after


def _json(payload, status_code: int = 200) -> HttpResponse:
    return HttpResponse(
        orjson.dumps(payload), status=status_code, content_type="application/json"
    )


def _errors(errors: dict, status_code: int = 400) -> HttpResponse:
    return _json({"errors": errors}, status_code)


def _read_json(request):
    try:
        return orjson.loads(request.body)
    except orjson.JSONDecodeError as error:
        raise ValidationError(
            {"non_field_errors": [f"Request body is not valid JSON: {error}"]}
        ) from None


# Describes for the schema what ``metering.ingestion`` accepts, with its limits;
# that module validates each event.
class UsageEventInputSerializer(serializers.Serializer):
    """A usage event; a field not listed here is refused."""

    event_id = serializers.CharField(
        max_length=ingestion.STRING_LIMITS["event_id"],
        help_text="Idempotency key, unique per organization.",
    )
    customer_id = serializers.CharField(
        max_length=ingestion.STRING_LIMITS["customer_id"],
        help_text="The customer's external id.",
    )
    operation = serializers.RegexField(
        f"^{ingestion.OPERATION_RE.pattern}$",
        max_length=ingestion.STRING_LIMITS["operation"],
    )
    quantity = serializers.DecimalField(
        max_digits=19,
        decimal_places=6,
        required=False,
        min_value=0,
        max_value=ingestion.MAX_QUANTITY,
        help_text="Default 1. A decimal string (or a JSON number).",
    )
    occurred_at = serializers.DateTimeField(
        help_text="With a time zone; at most a few minutes in the future."
    )
    user_id = serializers.CharField(
        max_length=ingestion.STRING_LIMITS["user_id"], required=False
    )
    data_volume_bytes = serializers.IntegerField(
        min_value=0,
        max_value=ingestion.MAX_DATA_VOLUME,
        required=False,
        allow_null=True,
    )
    process_id = serializers.CharField(
        max_length=ingestion.STRING_LIMITS["process_id"], required=False
    )
    context = serializers.CharField(
        max_length=ingestion.STRING_LIMITS["context"], required=False
    )
    properties = serializers.DictField(required=False)


# What became of a submitted event (``UsageEventStatus`` in the schema).
INGEST_STATUSES = [
    services.Status.ACCEPTED,
    services.Status.DUPLICATE,
    services.Status.CONFLICT,
    services.Status.REJECTED,
]


class UsageEventOutcomeSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    status = serializers.ChoiceField(
        choices=INGEST_STATUSES,
        help_text="accepted (201) or duplicate (200); conflicts and rejections "
        "are errors.",
    )


class UsageEventBatchInputSerializer(serializers.Serializer):
    events = UsageEventInputSerializer(many=True, max_length=services.MAX_BATCH_EVENTS)


class UsageEventBatchResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position in the submitted list.")
    event_id = serializers.CharField()
    status = serializers.ChoiceField(choices=INGEST_STATUSES)
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Messages by field, for rejected and conflicting events.",
    )


class UsageEventBatchOutputSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    conflicts = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = UsageEventBatchResultSerializer(many=True)


class UsageEventOutputSerializer(serializers.ModelSerializer):
    customer_id = serializers.CharField(source="customer.external_id")

    class Meta:
        model = UsageEvent
        fields = [
            "id", "event_id", "customer_id", "operation", "quantity", "occurred_at",
            "received_at", "is_late", "user_id", "data_volume_bytes", "process_id",
            "context", "properties",
        ]  # fmt: skip


class UsageEventCursorPagination(StrictCursorPagination):
    ordering = ("-occurred_at", "-id")
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 1000


class UsageEventListCreateApi(APIView):
    """``GET``: events newest first, filtered by ``customer_id`` (external id or
    id; ``customer`` is its deprecated alias), ``operation``, ``from``
    (inclusive) and ``to`` (exclusive) on ``occurred_at``, cursor-paginated.
    ``POST``: one event; 201 accepted, 200 duplicate, 409
    conflict, 400 rejected with the fields named."""

    permission_model = UsageEvent

    throttle_classes = [IngestRateThrottle]
    pagination_class = UsageEventCursorPagination

    @extend_schema(
        parameters=[
            *customer_filter_parameters("customer"),
            OpenApiParameter("operation", OpenApiTypes.STR),
            _time_parameter("from", "Earliest occurred_at (inclusive)."),
            _time_parameter("to", "Latest occurred_at (exclusive)."),
        ],
        responses=UsageEventOutputSerializer(many=True),
    )
    def get(self, request):
        params = request.query_params
        customer = None
        if named := aliased_query_param(params, "customer_id", "customer"):
            field, key = named
            customer = selectors.customer_named(
                organization=request.organization, key=key, field=field
            )
        events = selectors.usage_event_list(
            organization=request.organization,
            customer=customer,
            operation=params.get("operation") or None,
            start=parse_time_param(params, "from"),
            end=parse_time_param(params, "to"),
        ).select_related("customer")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(
            UsageEventOutputSerializer(page, many=True).data
        )

    @extend_schema(
        request=UsageEventInputSerializer,
        responses={
            201: OpenApiResponse(UsageEventOutcomeSerializer, "Accepted."),
            200: OpenApiResponse(
                UsageEventOutcomeSerializer, "A duplicate of a stored event."
            ),
            409: error_response(409),
        },
    )
    def post(self, request):
        payload = _read_json(request)
        result = services.usage_events_ingest(
            organization=request.organization, events=[payload], now=timezone.now()
        )
        (outcome,) = result.outcomes
        if outcome.status == services.Status.REJECTED:
            return _errors(outcome.errors)
        if outcome.status == services.Status.CONFLICT:
            return _errors(outcome.errors, status.HTTP_409_CONFLICT)
        return _json(
            {"event_id": outcome.event_id, "status": outcome.status},
            status.HTTP_201_CREATED
            if outcome.status == services.Status.ACCEPTED
            else status.HTTP_200_OK,
        )


class UsageEventBatchApi(APIView):
    """``POST {"events": [...]}`` with up to 10,000 events. Answers 200 with the
    counts and one result per event, in order: accepted, duplicate, conflict or
    rejected (with ``errors``). Valid events are stored even when others are not."""

    permission_model = UsageEvent
    # 10,000 events of up to about 800 bytes each (ids, context and small
    # properties); a realistic full batch is 3 to 4 MB.
    max_body_bytes = 8 * 1024 * 1024

    throttle_classes = [IngestRateThrottle]

    @extend_schema(
        request=UsageEventBatchInputSerializer,
        responses=UsageEventBatchOutputSerializer,
    )
    def post(self, request):
        # A batch parses, validates and answers up to 10,000 events: thousands of
        # short-lived acyclic objects (see billing_site.collection).
        with without_cycle_collection():
            return self._post(request)

    def _post(self, request):
        payload = _read_json(request)
        events = payload.get("events") if isinstance(payload, dict) else None
        if not isinstance(events, list):
            raise ValidationError({"events": ["Must be a list of event objects."]})
        if len(events) > services.MAX_BATCH_EVENTS:
            raise ValidationError(
                {
                    "events": [
                        f"At most {services.MAX_BATCH_EVENTS} events per batch; "
                        f"got {len(events)}."
                    ]
                }
            )
        result = services.usage_events_ingest(
            organization=request.organization, events=events, now=timezone.now()
        )
        return _json(
            {
                **result.summary(),
                "results": result.rows(),
            }
        )
