"""Credit notes API: ``/invoices/{id}/credit-notes/`` and ``/credit-notes/{id}/``.

``POST /invoices/{id}/credit-notes/`` credits part of an issued invoice's lines
(201); a line that is not the invoice's, appears twice, is not creditable, or an
amount above what is left to credit on it are 400s naming the field
(``lines[1].amount``), as is a refund without ``refund_to``. ``GET`` lists the
invoice's notes (partial and void). ``GET /credit-notes/{id}/`` reads one and
``/credit-notes/{id}/pdf`` renders it. Figures: ``invoices.services.credit_notes``.
"""

from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing_site.api_fields import StrictDecimalField, StrictIntegerField
from billing_site.api_input import StrictLimitOffsetPagination
from billing_site.api_schema import error_response
from billing_site.ids import ascii_id
from invoices import selectors
from invoices.models import CreditNote
from invoices.services.credit_notes import credit_note_create


class CreditNoteLineInputSerializer(serializers.Serializer):
    invoice_line_id = StrictIntegerField(min_value=1)
    amount = StrictDecimalField(
        max_digits=18,
        decimal_places=2,
        help_text="Net of tax, more than 0, at most what is left to credit.",
    )


class CreditNoteInputSerializer(serializers.Serializer):
    lines = CreditNoteLineInputSerializer(many=True, allow_empty=False)
    reason = serializers.CharField(max_length=300, required=False, default="")
    refund_to = serializers.ChoiceField(
        choices=CreditNote.RefundTo.choices,
        required=False,
        default="",
        help_text="Where what the customer already settled goes back; required "
        "when the note credits more than the amount due.",
    )


class CreditNoteLineOutputSerializer(serializers.Serializer):
    invoice_line_id = serializers.IntegerField()
    description = serializers.CharField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)


class CreditNoteOutputSerializer(serializers.ModelSerializer):
    invoice_id = serializers.IntegerField()
    lines = CreditNoteLineOutputSerializer(many=True)

    class Meta:
        model = CreditNote
        fields = [
            "id", "number", "invoice_id", "kind", "currency", "subtotal",
            "tax_amount", "amount", "applied_to_balance", "refunded_amount",
            "refund_to", "reason", "issued_at", "lines",
        ]  # fmt: skip


def credit_note_pdf(note: CreditNote) -> bytes:
    """The note rendered from ``invoices/credit_note_pdf.html`` as PDF bytes, as
    invoices are (``invoices.exports.invoice_pdf``)."""
    from weasyprint import HTML

    html = render_to_string(
        "invoices/credit_note_pdf.html",
        {
            "note": note,
            "invoice": note.invoice,
            "organization": note.organization,
            "lines": list(note.lines.all()),
        },
    )
    return HTML(string=html).write_pdf()


def _credit_note_get(*, organization, pk: str) -> CreditNote:
    number = ascii_id(pk)
    note = (
        CreditNote.objects.filter(organization=organization, pk=number)
        .select_related("invoice", "organization")
        .prefetch_related("lines")
        .first()
        if number is not None
        else None
    )
    if note is None:
        raise Http404(f"No credit note {pk!r}")
    return note


class InvoiceCreditNotesApi(APIView):
    """The credit notes of invoice ``{id}`` of the organization."""

    permission_model = CreditNote
    pagination_class = StrictLimitOffsetPagination

    @extend_schema(responses=CreditNoteOutputSerializer(many=True))
    def get(self, request, id: str):
        invoice = selectors.invoice_get(organization=request.organization, pk=id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            invoice.credit_notes.prefetch_related("lines").order_by("issued_at", "id"),
            request,
            view=self,
        )
        return paginator.get_paginated_response(
            CreditNoteOutputSerializer(page, many=True).data
        )

    @extend_schema(
        request=CreditNoteInputSerializer,
        responses={201: CreditNoteOutputSerializer, 409: error_response(409)},
    )
    def post(self, request, id: str):
        invoice = selectors.invoice_get(organization=request.organization, pk=id)
        data = CreditNoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = credit_note_create(
            invoice=invoice,
            lines=[
                (line["invoice_line_id"], line["amount"])
                for line in data.validated_data["lines"]
            ],
            reason=data.validated_data["reason"],
            refund_to=data.validated_data["refund_to"],
            now=timezone.now(),
        )
        return Response(
            CreditNoteOutputSerializer(note).data, status=status.HTTP_201_CREATED
        )


class CreditNoteApi(APIView):
    """One credit note of the organization."""

    permission_model = CreditNote

    @extend_schema(responses=CreditNoteOutputSerializer)
    def get(self, request, id: str):
        note = _credit_note_get(organization=request.organization, pk=id)
        return Response(CreditNoteOutputSerializer(note).data)


class CreditNotePdfApi(APIView):
    """Credit note ``{id}`` as PDF."""

    permission_model = CreditNote

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, "The credit note as PDF."
            )
        }
    )
    def get(self, request, id: str):
        note = _credit_note_get(organization=request.organization, pk=id)
        response = HttpResponse(credit_note_pdf(note), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{note.number}.pdf"'
        return response
