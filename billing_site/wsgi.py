"""WSGI entry point for gunicorn."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_site.settings")
application = get_wsgi_application()
# What loading Django, the apps and the URLconf created lives as long as the
# process: moved out of the collector's generations, it is never walked again.
gc.freeze()
