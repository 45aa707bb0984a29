"""The DRF router every app uses: routes match with or without a trailing slash."""

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
