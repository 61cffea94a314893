"""Settings, read from the environment (12-factor).

Nothing here is meant to be edited per installation: every knob is an environment variable
(see README.md, "Configuration"). With nothing set the project runs embedded: SQLite, Celery
tasks in-process, a local-memory cache, DEBUG on.
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env.bool("DEBUG", default=not PRODUCTION)


def _secret_key() -> str:
    """SECRET_KEY from the environment; in DEBUG a per-checkout key kept in an ignored file.

    Production refuses to start without one, so no key ever lives in the repository.
    """
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if not DEBUG:
        raise environ.ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    path = BASE_DIR / ".secret_key"
    if not path.exists():
        from django.core.management.utils import get_random_secret_key

        path.write_text(get_random_secret_key())
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# Earlier keys, still accepted while a new SECRET_KEY rolls out (sessions, and the password digest
# Blynk refresh tokens keep: apps/access/hashing.py).
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.tenancy",
    "apps.access",
    "apps.inventory",
    "apps.timeseries",
    "apps.imports",
    "apps.alarms",
    "apps.console",
    "apps.observability",
    "axes",
]

MIDDLEWARE = [
    "apps.observability.middleware.RequestObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.middleware.NulQueryStringMiddleware",
    "axes.middleware.AxesMiddleware",
]

if not DEBUG:
    # Serves the collected static files (admin, charts) from gunicorn; runserver does it in DEBUG.
    MIDDLEWARE.insert(2, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "ems.urls"
WSGI_APPLICATION = "ems.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the admin read while an import writes; the busy timeout absorbs short write locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compilation costs tens of milliseconds on the rollup queries and never pays back on
    # queries this short (measured: 10-series day rollup 93 ms with JIT, 54 ms without).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Every Redis connection (the cache's and the broker's) gives up after these many seconds, so a
# stopped or frozen Redis costs a request at most one timeout instead of hanging it.
REDIS_CONNECT_TIMEOUT_SECONDS = env.float("REDIS_CONNECT_TIMEOUT_SECONDS", default=0.5)
REDIS_TIMEOUT_SECONDS = env.float("REDIS_TIMEOUT_SECONDS", default=0.5)
REDIS_SOCKET_OPTIONS = {
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_SECONDS,
    "socket_timeout": REDIS_TIMEOUT_SECONDS,
}
# "default" is shared by every process when CACHE_URL is Redis; "local" is this process's memory,
# where failed logins are counted while the shared cache is down (apps/core/shared_cache.py).
CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://ems"),
    "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ems-local"},
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"].setdefault("OPTIONS", {}).update(REDIS_SOCKET_OPTIONS)
# After a failed cache call the cache is skipped for this long (per process), then tried again.
CACHE_RETRY_SECONDS = env.float("CACHE_RETRY_SECONDS", default=5.0)

AUTHENTICATION_BACKENDS = [
    "apps.access.logins.AdminLoginBackend",  # django-axes' lockout check, admin site only
    "django.contrib.auth.backends.ModelBackend",
    "apps.tenancy.backends.RolePermissionBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["apps.api.common.renderers.ORJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["apps.api.common.parsers.ORJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_SCHEMA_CLASS": "apps.api.common.schema.PathAutoSchema",
    "UNAUTHENTICATED_USER": None,
}

# JWTs of the Blynk, Building X and EMS dialects (apps/access/tokens.py): one pinned algorithm.
SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default="") or SECRET_KEY,
    "LEEWAY": 0,
    "UPDATE_LAST_LOGIN": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "EMS API",
    "DESCRIPTION": "Four vendor-compatible meter-data API dialects over one time-series store.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # drf-spectacular's own enum hook, then ours: a schema generated clients can use.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.api.common.schema_hooks.single_request_media_type",
        "apps.api.common.schema_hooks.generator_local_last",
    ],
}

# Celery: with no broker the embedded default runs tasks in-process (eagerly), which together
# with transaction.on_commit gives "after the response's transaction commits".
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or None
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
if CELERY_TASK_ALWAYS_EAGER:
    # Eager calls still borrow a producer from the pool: the in-memory transport keeps it from
    # reaching for an AMQP server on localhost (and from warning about it on every call).
    CELERY_BROKER_URL = "memory://"
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://", "redis+socket://")):
    # Publishing (an accepted import's enqueue) and the workers' commands give up like the
    # cache's; the workers' blocking reads run in their event loop, outside this timeout.
    CELERY_BROKER_TRANSPORT_OPTIONS = {**REDIS_SOCKET_OPTIONS}
    # One try per publish: a frozen broker then costs an accepted import one timeout (measured
    # 1.0 s; Celery's default three retries made it 4.6-5.7 s), and a job not sent is sent by the
    # sweeper. redis-py still reconnects a pooled connection the broker's restart closed.
    CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 0}
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# With late acknowledgement a lost broker connection cannot ack the running task anyway: cancel it
# (its message is redelivered) instead of finishing work whose ack would be lost.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Several installations (or a benchmark) can share one Redis by each using a queue of its own.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_BEAT_SCHEDULE = {
    "imports-sweep": {
        "task": "imports.sweep",
        "schedule": env.int("IMPORT_SWEEP_INTERVAL_SECONDS", default=60),
    },
    "samples-expire": {
        "task": "timeseries.expire_samples",
        "schedule": env.int("RETENTION_INTERVAL_SECONDS", default=3600),
    },
    "imports-purge": {
        "task": "imports.purge",
        "schedule": env.int("RETENTION_INTERVAL_SECONDS", default=3600),
    },
    # New secrets never shown on their admin page in time (apps/access): deleted within a minute.
    "access-prune-shown-once": {"task": "access.prune_shown_once", "schedule": 60},
    # Series whose kind, interval end or zone changed: statistics recomputed (apps/timeseries/stats/basis.py).
    "statistics-check": {
        "task": "timeseries.statistics_check",
        "schedule": env.int("STATISTICS_CHECK_INTERVAL_SECONDS", default=60),
    },
    # Alarm rules (apps/alarms): evaluated every minute; old cleared alarms deleted hourly.
    "alarms-evaluate": {"task": "alarms.evaluate", "schedule": env.int("ALARM_EVALUATE_SECONDS", default=60)},
    "alarms-expire": {
        "task": "alarms.expire",
        "schedule": env.int("RETENTION_INTERVAL_SECONDS", default=3600),
    },
}

# Import jobs (apps/imports): an unfinished job with no sign of life for this long is re-enqueued
# by the sweeper; a job whose runs keep dying is failed after this many attempts; runs write and
# record progress in chunks of this many points.
IMPORT_STUCK_AFTER_SECONDS = env.int("IMPORT_STUCK_AFTER_SECONDS", default=600)
IMPORT_MAX_ATTEMPTS = env.int("IMPORT_MAX_ATTEMPTS", default=5)
IMPORT_CHUNK_POINTS = env.int("IMPORT_CHUNK_POINTS", default=100_000)
# Finished import jobs (done or failed) are deleted this many days after they finished (0: kept
# forever); Blynk's per-device daily import counts, this many days after their day.
IMPORT_JOB_RETENTION_DAYS = env.int("IMPORT_JOB_RETENTION_DAYS", default=90)
IMPORT_QUOTA_DAYS_KEPT = env.int("IMPORT_QUOTA_DAYS_KEPT", default=31)

# Product limits and lifetimes; each organization may override the limits (Organization model).
EMS_HISTORY_PERIOD_SECONDS = env.int("EMS_HISTORY_PERIOD_SECONDS", default=60)
# How long a paged history's total (a range's sample count) is cached; any write to the series
# invalidates it at once (Series.revision), so this only bounds the cache's size.
SAMPLE_COUNT_CACHE_SECONDS = env.int("SAMPLE_COUNT_CACHE_SECONDS", default=600)
EMS_LOGIN_TOKEN_LIFETIME_SECONDS = env.int("EMS_LOGIN_TOKEN_LIFETIME_SECONDS", default=30 * 60)
BLYNK_ACCESS_TOKEN_LIFETIME_SECONDS = env.int("BLYNK_ACCESS_TOKEN_LIFETIME_SECONDS", default=86_400)
BLYNK_REFRESH_TOKEN_LIFETIME_SECONDS = env.int("BLYNK_REFRESH_TOKEN_LIFETIME_SECONDS", default=30 * 86_400)
# History import: timestamps more than this many days in the past are refused, in the future skipped.
BLYNK_IMPORT_WINDOW_DAYS = env.int("BLYNK_IMPORT_WINDOW_DAYS", default=30)
BUILDINGX_TOKEN_LIFETIME_SECONDS = env.int("BUILDINGX_TOKEN_LIFETIME_SECONDS", default=86_400)
BUILDINGX_AUDIENCE = env.str("BUILDINGX_AUDIENCE", default="https://horizon.siemens.com")
EMS_REQUESTS_PER_MINUTE = env.int("EMS_REQUESTS_PER_MINUTE", default=10_000)
EMS_IMPORT_POINTS_PER_DEVICE_DAY = env.int("EMS_IMPORT_POINTS_PER_DEVICE_DAY", default=10_000)
EMS_REALTIME_STALENESS_SECONDS = env.int("EMS_REALTIME_STALENESS_SECONDS", default=15 * 60)
EMS_SAMPLE_RETENTION_DAYS = env.int("EMS_SAMPLE_RETENTION_DAYS", default=0)  # 0: keep forever
# Days of 15-minute consumption seed_demo writes on its demo meters (apps/inventory/demo_meters.py).
EMS_DEMO_METER_DAYS = env.int("EMS_DEMO_METER_DAYS", default=400)

# Alarms (apps/alarms, docs/alarms.md): rules an organization may hold; cleared alarms and sent
# notifications kept this many days (0: forever); webhooks may reach loopback, link-local and
# private addresses only when allowed (a test or a closed network); their time-out and retries.
ALARM_RULES_PER_ORGANIZATION = env.int("ALARM_RULES_PER_ORGANIZATION", default=1000)
ALARM_RETENTION_DAYS = env.int("ALARM_RETENTION_DAYS", default=365)
ALARM_WEBHOOK_ALLOW_PRIVATE = env.bool("ALARM_WEBHOOK_ALLOW_PRIVATE", default=False)
ALARM_WEBHOOK_TIMEOUT_SECONDS = env.float("ALARM_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
ALARM_DELIVERY_MAX_RETRIES = env.int("ALARM_DELIVERY_MAX_RETRIES", default=6)

# Email (alarm notifications): printed to the console unless EMAIL_URL names an SMTP server,
# e.g. smtp+tls://user:password@mail.example.com:587 (django-environ's email URL).
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ems@localhost")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# Every dialect request's queries run under this statement timeout on PostgreSQL (0: none); past
# it the request is answered 503 with Retry-After (apps/api/common/timeout.py).
API_STATEMENT_TIMEOUT_SECONDS = env.float("API_STATEMENT_TIMEOUT_SECONDS", default=15.0)

# /metrics (Prometheus) answers superusers and `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# Reverse proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated):
# the login throttles key on the right-most address in it that is not one of them
# (apps/core/clients.py). Empty: REMOTE_ADDR is the client.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# The admin's failed-login throttle (django-axes, apps/access/logins.py): after this many failures
# for one account, or from one client address, that account or address is refused (429) for the
# lockout time, counted from the last failure before it.
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(seconds=env.int("ADMIN_LOGIN_LOCKOUT_SECONDS", default=300))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_ONLY_ADMIN_SITE = True
AXES_HANDLER = "apps.access.logins.AdminLoginHandler"
AXES_USERNAME_CALLABLE = "apps.access.logins.axes_username"
AXES_CLIENT_IP_CALLABLE = "apps.access.logins.axes_client_address"
AXES_LOCKOUT_CALLABLE = "apps.access.logins.admin_lockout_response"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_DISABLE_ACCESS_LOG = True  # successful logins are not recorded: only the throttle is wanted
AXES_ENABLE_ADMIN = False  # lockouts are lifted with `manage.py axes_reset` (or time)
AXES_VERBOSE = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
