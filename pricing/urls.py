"""URL patterns this app contributes; the root URLconf mounts each list."""

api_urlpatterns: list = []  # under /api/v1/
staff_urlpatterns: list = []  # under /staff/, namespace "staff"
portal_urlpatterns: list = []  # under /portal/, namespace "portal"
