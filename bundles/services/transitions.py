"""Offer state changes: accept, activate, decline and expiry, each with its
audit row."""

import datetime as dt

from django.db import transaction

from billing_site.errors import InvalidTransition
from bundles.models import BundleStatusChange, PersonalizedBundle
from metering.models import Organization

Status = PersonalizedBundle.Status
SYSTEM = "system"


def _transition(
    *, bundle: PersonalizedBundle, to_status: str, now, actor: str
) -> PersonalizedBundle:
    BundleStatusChange.objects.create(
        bundle=bundle, from_status=bundle.status, to_status=to_status, at=now,
        actor=actor,
    )  # fmt: skip
    bundle.status = to_status
    return bundle


def _transition_many(*, bundles, to_status: str, now) -> int:
    rows = list(bundles.select_for_update().values_list("pk", "status"))
    if not rows:
        return 0
    BundleStatusChange.objects.bulk_create(
        [
            BundleStatusChange(
                bundle_id=pk, from_status=status, to_status=to_status, at=now,
                actor=SYSTEM,
            )
            for pk, status in rows
        ],
        batch_size=5000,
    )  # fmt: skip
    return PersonalizedBundle.objects.filter(pk__in=[pk for pk, _ in rows]).update(
        status=to_status, updated_at=now
    )


def _locked(bundle: PersonalizedBundle) -> PersonalizedBundle:
    return PersonalizedBundle.objects.select_for_update().get(pk=bundle.pk)


def _require_status(bundle: PersonalizedBundle, expected: str, verb: str) -> None:
    """Refuse a state change unless the bundle is in ``expected``."""
    if bundle.status != expected:
        article = "an" if expected[0] in "aeiou" else "a"
        raise InvalidTransition(
            f"Bundle {bundle.pk} is {bundle.status}; only {article} {expected} bundle "
            f"can be {verb}.",
            field="status",
        )


@transaction.atomic
def bundle_accept(
    *, bundle: PersonalizedBundle, now: dt.datetime, actor: str
) -> PersonalizedBundle:
    """Accept an open offer within its validity; it becomes active at once."""
    bundle = _locked(bundle)
    _require_status(bundle, Status.OFFERED, "accepted")
    if not (bundle.valid_from <= now < bundle.valid_until):
        raise InvalidTransition(
            f"Bundle {bundle.pk} is outside its validity "
            f"({bundle.valid_from:%Y-%m-%d %H:%M} to "
            f"{bundle.valid_until:%Y-%m-%d %H:%M} UTC).",
            field="valid_until",
        )
    _transition(bundle=bundle, to_status=Status.ACCEPTED, now=now, actor=actor)
    bundle.accepted_at = now
    bundle.save(update_fields=["status", "accepted_at", "updated_at"])
    return bundle_activate(bundle=bundle, now=now, actor=actor)


@transaction.atomic
def bundle_activate(
    *, bundle: PersonalizedBundle, now: dt.datetime, actor: str
) -> PersonalizedBundle:
    """An accepted bundle starts covering usage."""
    bundle = _locked(bundle)
    _require_status(bundle, Status.ACCEPTED, "activated")
    _transition(bundle=bundle, to_status=Status.ACTIVE, now=now, actor=actor)
    bundle.save(update_fields=["status", "updated_at"])
    return bundle


@transaction.atomic
def bundle_decline(
    *, bundle: PersonalizedBundle, now: dt.datetime, actor: str
) -> PersonalizedBundle:
    bundle = _locked(bundle)
    _require_status(bundle, Status.OFFERED, "declined")
    _transition(bundle=bundle, to_status=Status.DECLINED, now=now, actor=actor)
    bundle.declined_at = now
    bundle.save(update_fields=["status", "declined_at", "updated_at"])
    return bundle


@transaction.atomic
def bundles_expire(
    *, now: dt.datetime, organization: Organization | None = None
) -> int:
    """Expire every offered, accepted or active bundle whose validity has ended."""
    due = PersonalizedBundle.objects.filter(
        status__in=[Status.OFFERED, Status.ACCEPTED, Status.ACTIVE],
        valid_until__lte=now,
    )
    if organization is not None:
        due = due.filter(organization=organization)
    return _transition_many(bundles=due, to_status=Status.EXPIRED, now=now)
