"""Tenancy: organizations, customers, API keys and portal users (the spine)."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

from billing_site.timestamps import TimeStampedModel

currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code.")


class Organization(TimeStampedModel):
    """A vendor using the platform to bill its own customers."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    currency = models.CharField(
        max_length=3, default="USD", validators=[currency_validator]
    )
    timezone = models.CharField(max_length=64, default="UTC")
    # Events naming an unknown customer create it instead of being rejected.
    auto_create_customers = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.timezone not in zoneinfo.available_timezones():
            raise ValidationError(
                {"timezone": [f"Unknown time zone {self.timezone!r}."]}
            )


class Customer(TimeStampedModel):
    """A billed account of an organization."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="customers"
    )
    # The organization's own identifier for the account; used throughout the API.
    external_id = models.CharField(max_length=128)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                name="customer_unique_external_id_per_org",
            )
        ]
        indexes = [
            models.Index(Lower("name"), "organization", name="customer_name_idx")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"


class ApiKey(TimeStampedModel):
    """A secret an integration presents as ``Authorization: Api-Key <key>``.

    Only a SHA-256 hash of the key is stored; the prefix identifies it in the admin.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, editable=False)
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Updated at most once a minute per key, to keep authentication free of writes.
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.organization.slug})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PortalUser(TimeStampedModel):
    """Links a Django user to the one customer account they may see in the portal."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_user"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="portal_users"
    )

    class Meta:
        verbose_name = "portal user"

    def __str__(self) -> str:
        return f"{self.user} → {self.customer}"
