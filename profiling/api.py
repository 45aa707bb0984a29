"""Profiling API: a customer's profile, next-operation predictions, segments."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_site.api_fields import StrictIntegerField
from billing_site.api_input import StrictLimitOffsetPagination
from metering.selectors import customer_get
from profiling import selectors
from profiling.models import CustomerProfile, Segment


class NextOperationSerializer(serializers.Serializer):
    operation = serializers.CharField()
    probability = serializers.FloatField()


class TagOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    score = serializers.FloatField()
    explanation = serializers.CharField()


class TopOperationSerializer(serializers.Serializer):
    operation = serializers.CharField()
    share = serializers.FloatField()


class EndUserOutputSerializer(serializers.Serializer):
    user_id = serializers.CharField()
    events = serializers.IntegerField()
    top_operations = TopOperationSerializer(many=True)
    next_operations = NextOperationSerializer(many=True)
    tags = TagOutputSerializer(many=True)


class ProfileSegmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CustomerProfileOutputSerializer(serializers.Serializer):
    segment = ProfileSegmentSerializer(
        allow_null=True, help_text="Null until a profiling run placed the customer."
    )
    tags = TagOutputSerializer(many=True)
    next_operations = NextOperationSerializer(many=True)
    predicted_counts = serializers.DictField(
        child=serializers.FloatField(),
        help_text="Operation -> expected events in the next 30 days.",
    )
    end_users = EndUserOutputSerializer(many=True)


class PredictNextOutputSerializer(serializers.Serializer):
    predictions = NextOperationSerializer(many=True)


class CustomerProfileApi(APIView):
    """``GET /api/v1/customers/{id}/profile/``: latest run's view of a customer.

    ``end_users`` lists the end users (events with a ``user_id``) inside the
    customer's account, most active first.
    """

    permission_model = CustomerProfile

    @extend_schema(responses=CustomerProfileOutputSerializer)
    def get(self, request, id):
        customer = customer_get(organization=request.organization, key=id)
        behaviour = selectors.customer_profile(customer)
        segment = (
            {"id": behaviour.segment_id, "name": behaviour.segment_name}
            if behaviour.segment_id is not None
            else None
        )
        return Response(
            {
                "segment": segment,
                "tags": TagOutputSerializer(behaviour.tags, many=True).data,
                "next_operations": NextOperationSerializer(
                    behaviour.next_operations, many=True
                ).data,
                "predicted_counts": behaviour.predicted_counts,
                "end_users": EndUserOutputSerializer(
                    behaviour.end_users, many=True
                ).data,
            }
        )


class PredictNextInputSerializer(serializers.Serializer):
    sequence = serializers.ListField(
        child=serializers.CharField(max_length=100), max_length=1000
    )
    k = StrictIntegerField(min_value=1, max_value=50, default=3)
    # An end user inside the customer's account; their own chain comes first.
    user_id = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default=""
    )


class PredictNextApi(APIView):
    """``POST /api/v1/customers/{id}/predict-next/`` with ``{"sequence", "k"}`` and
    optionally ``"user_id"``."""

    permission_model = CustomerProfile
    action_permissions = {"POST": "profiling.view_customerprofile"}

    @extend_schema(
        request=PredictNextInputSerializer, responses=PredictNextOutputSerializer
    )
    def post(self, request, id):
        customer = customer_get(organization=request.organization, key=id)
        payload = PredictNextInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        predictions = selectors.predict_next(
            customer=customer,
            sequence=payload.validated_data["sequence"],
            k=payload.validated_data["k"],
            user_id=payload.validated_data["user_id"],
        )
        return Response(
            {"predictions": NextOperationSerializer(predictions, many=True).data}
        )


class SegmentOutputSerializer(serializers.ModelSerializer):
    run = serializers.IntegerField(source="run_id")

    class Meta:
        model = Segment
        fields = [
            "id", "run", "label", "name", "size", "top_operations",
            "centroid_summary",
        ]  # fmt: skip


class SegmentListApi(APIView):
    """``GET /api/v1/segments/``: segments of the latest successful run."""

    permission_model = Segment
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(responses=SegmentOutputSerializer(many=True))
    def get(self, request):
        segments = selectors.segment_list(organization=request.organization)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(segments, request, view=self)
        return paginator.get_paginated_response(
            SegmentOutputSerializer(page, many=True).data
        )
