"""Settings, read from the environment.

``DEBUG`` is off unless the environment turns it on (``make run`` and ``make test``
do, and nothing else): with it off, ``SECRET_KEY``, ``ALLOWED_HOSTS`` and
``DATABASE_URL`` are mandatory and the site sends HSTS, redirects to HTTPS and
marks its cookies Secure (``manage.py check --deploy`` passes). Without
``DATABASE_URL`` the development site runs on a SQLite file under ``var/`` and,
without ``CELERY_BROKER_URL``, Celery tasks run in-process: enough to see the
product with no services installed.
"""

from datetime import timedelta
from pathlib import Path

import environ
import plotly
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="insecure-local-development-key")
    ALLOWED_HOSTS = env.list(
        "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"]
    )
else:
    for required in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"):
        if required not in env:
            raise ImproperlyConfigured(f"{required} must be set when DEBUG is false")
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    # HTTPS only: a year of HSTS, plain HTTP redirected, cookies never sent in
    # clear. Behind a TLS-terminating proxy, name the header it sets
    # (SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto); SECURE_SSL_REDIRECT=false only
    # where the proxy itself redirects.
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
        "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True
    )
    # Joining the browsers' preload list is the site's own decision.
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    if proxy_header := env.str("SECURE_PROXY_SSL_HEADER", default=""):
        SECURE_PROXY_SSL_HEADER = (
            "HTTP_" + proxy_header.upper().replace("-", "_"),
            "https",
        )
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    # The project package itself, for its management commands (setup_periodic_tasks).
    "billing_site",
    "metering",
    "pricing",
    "profiling",
    "bundles",
    "invoices",
    "scaling",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "billing_site.api_input.ApiInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "billing_site.csp.ContentSecurityPolicyMiddleware",
    # Last, as django-axes requires: it answers locked-out logins.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "billing_site.urls"
WSGI_APPLICATION = "billing_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "billing_site.context_processors.staff_site",
            ],
        },
    },
]

DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'billing.sqlite3'}"
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Behind a pooler in transaction mode (PgBouncer) a session may move between
# server connections, so no session state may be relied on between transactions.
DATABASE_TRANSACTION_POOLING = env.bool("DATABASE_TRANSACTION_POOLING", default=False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Statements that the code marks as hot (``prepare=True``: the API key
    # lookup, the ingestion batch's statements) are prepared once per
    # connection; no other statement ever is.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        None if DATABASE_TRANSACTION_POOLING else 2**31 - 1
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The SQLite demo database cannot express "NULLS NOT DISTINCT" unique constraints;
# PostgreSQL, the production database, enforces them.
SILENCED_SYSTEM_CHECKS = ["models.W047"]

# Logins (admin and portal) go through django-axes first: after
# LOGIN_FAILURE_LIMIT wrong passwords for one username from one IP address, that
# pair is refused (429) for LOGIN_LOCKOUT_MINUTES, even with the right password.
# A successful login clears the pair's count; other addresses are not affected.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # plotly.js as shipped in the plotly package: {% static 'plotly/plotly.min.js' %}
    ("plotly", Path(plotly.__file__).resolve().parent / "package_data"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:login"

# Request body limits. The API's are per endpoint (a view's ``max_body_bytes``,
# else API_MAX_BODY_BYTES) and answered with a 413 by billing_site.api_input; the
# usage event batch allows 8 MiB, room for its 10,000 events at about 800 bytes
# each. Django's own limit, which answers an HTML 400, sits at that largest one.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "metering.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["metering.authentication.HasOrganization"],
    # JSON bodies only: one request shape per operation in the schema.
    "DEFAULT_PARSER_CLASSES": ["billing_site.api_input.HardenedJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_PAGINATION_CLASS": "billing_site.api_input.StrictLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "billing_site.api_schema.ApiAutoSchema",
    # Path parameters keep their URL names ({id}, never a {pk} renamed), so the
    # schema shows what the routes are (tests/test_api_naming.py).
    "SCHEMA_COERCE_PATH_PK": False,
    "EXCEPTION_HANDLER": "billing_site.api_errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="120/minute"),
        "user": env.str("THROTTLE_USER", default="100000/minute"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Usage Billing API",
    "DESCRIPTION": (
        "Usage events, customers, pricing, bundles, invoices and scaling. "
        "Authenticate with `Authorization: Api-Key <key>`. Money is rendered as "
        'decimal strings with the currency\'s minor unit (e.g. "47.50"). Request '
        "bodies are JSON. Every error has one shape, "
        '`{"errors": {"<field>": ["<message>", ...]}}`: nested fields are named by '
        "their path (`operations.0.operation`), errors of the request as a whole "
        "come under `detail` or `non_field_errors`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Request bodies get their own components (no read-only fields in them), as
    # client generators expect.
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per enumeration where several serializers share it.
    "ENUM_NAME_OVERRIDES": {
        "InvoiceStatus": "invoices.models.Invoice.Status",
        "RecommendationStatus": "scaling.models.Recommendation.Status",
        "ForecastState": "scaling.models.Forecast.State",
        "UsageEventStatus": "metering.api.INGEST_STATUSES",
    },
}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or "memory://"
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None) or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "cache+memory://"
)
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL == "memory://"
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=60 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=55 * 60)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# Public evaluation data (real series and a clickstream) used by the demo, the
# benchmarks and the profiler's evaluation commands.
SHARED_DATA_DIR = env.path(
    "SHARED_DATA_DIR", default=BASE_DIR.parent / "shared" / "data"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# The hourly invoicing cycle generates a period of an organization with more
# customers than this as parallel Celery tasks of about this many customers each.
INVOICING_CUSTOMERS_PER_TASK = env.int("INVOICING_CUSTOMERS_PER_TASK", default=20_000)
