"""The DRF router every app uses: routes match with or without a trailing slash,
and a path id is ASCII digits unless the viewset says otherwise."""

from rest_framework.routers import DefaultRouter


class OptionalSlashRouter(DefaultRouter):
    """``/api/v1/things`` and ``/api/v1/things/`` both resolve.

    DRF turns any true ``trailing_slash`` argument into ``"/"``, so the optional
    pattern is set after initialisation.
    """

    include_root_view = False

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        """DRF's default lookup matches "²" and "٣", which the database cannot
        take as an id; ours matches at most 19 ASCII digits (bigint's width)."""
        if getattr(viewset, "lookup_value_regex", None) or getattr(
            viewset, "lookup_value_converter", None
        ):
            return super().get_lookup_regex(viewset, lookup_prefix)
        field = getattr(viewset, "lookup_url_kwarg", None) or getattr(
            viewset, "lookup_field", "pk"
        )
        return f"(?P<{lookup_prefix}{field}>[0-9]{{1,19}})"
