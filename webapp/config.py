"""Built-in defaults; instance/config.py, FLASK_* environment variables and test config override them."""

from __future__ import annotations

from datetime import timedelta

# Values that must never reach production: create_app refuses to start with them.
PLACEHOLDER_SECRETS = frozenset({"", "dev", "change-me", "changeme", "secret", "please-change"})


class Defaults:
    """Settings every instance starts from."""

    SECRET_KEY: str | None = None
    JWT_SECRET_KEY: str | None = None
    # Fernet keys for router passwords; the first encrypts, all decrypt (MultiFernet).
    ROUTER_PASSWORD_KEYS: list[str] = []  # noqa: RUF012

    SQLALCHEMY_DATABASE_URI: str | None = None  # None -> sqlite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}  # noqa: RUF012

    JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=15)
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=7)
    JWT_TOKEN_LOCATION = ["headers"]  # noqa: RUF012
    JWT_ERROR_MESSAGE_KEY = "error"

    # JSON bodies are small; anything bigger is refused with 413 before it is parsed.
    MAX_CONTENT_LENGTH = 512 * 1024

    # Explicit: Flask-Limiter keeps the last app's value on its one shared instance otherwise.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Logins, counted together across the dashboard and the JSON API (password and API-key logins): per
    # username and address, and per address. Past 5 failures a username also waits a doubling delay (max 60 s).
    LOGIN_RATE_LIMIT = "10 per minute"
    LOGIN_IP_RATE_LIMIT = "30 per minute"

    # Total deadline (connect + login + reply) of one router call made while a request waits.
    ROUTER_TIMEOUT = 10.0
    # Router users a voucher push adds per pipelined round (progress and cancel are checked between rounds).
    VOUCHER_PUSH_CHUNK = 100
    # At most this many sessions to one router at once from this process (requests, jobs and the poller).
    ROUTER_MAX_SESSIONS = 2

    # Jobs (multi-step router work): "embedded" runs them on JOBS_THREADS threads in the web process,
    # "external" leaves them to `flask --app wsgi worker`, "inline" runs each in the thread that queued it.
    JOBS_RUNNER = "embedded"
    JOBS_THREADS = 2
    # A running job's lease: renewed every third of it; a job whose runner died is resumed once it expires.
    JOB_LEASE_SECONDS = 30.0
    # How often an idle runner looks for jobs queued by other processes and for expired leases.
    JOBS_POLL_INTERVAL = 1.0
    # Fail a test (log in production) when a router call starts with a database write transaction open.
    ROUTER_IO_GUARD = False

    # Fleet monitoring (`flask --app wsgi poll`): every router every POLL_INTERVAL seconds unless it has its
    # own interval; at most POLL_CONCURRENCY polls in flight; each poll finishes within POLL_TIMEOUT seconds.
    POLL_INTERVAL = 60
    POLL_CONCURRENCY = 256
    POLL_TIMEOUT = 5.0
    # Metric retention in seconds: raw points, 5-minute averages, hourly averages.
    METRICS_RAW_RETENTION = 48 * 3600
    METRICS_5M_RETENTION = 30 * 86400
    METRICS_1H_RETENTION = 365 * 86400
    # Alert notifications: SMTP for email channels (no SMTP_HOST = email channels stay silent), webhooks get
    # a JSON POST; a channel tells about one router's alert kind at most once per its cooldown.
    SMTP_HOST: str | None = None
    SMTP_PORT = 25
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_STARTTLS = False
    SMTP_SSL = False
    SMTP_TIMEOUT = 10.0
    ALERT_MAIL_FROM = "routerdeck@localhost"
    WEBHOOK_TIMEOUT = 5.0
    # Webhooks go to public addresses only unless the operator allows internal receivers (SSRF guard).
    WEBHOOK_ALLOW_PRIVATE = False
    # Telegram channels post through the Bot API with each channel's own bot token; SMS channels through the
    # SMS provider (Africa's Talking: username + API key of the operator's account; no key = SMS stays silent).
    TELEGRAM_API_URL = "https://api.telegram.org"
    SMS_BASE_URL = "https://api.africastalking.com"
    SMS_USERNAME: str | None = None
    SMS_API_KEY: str | None = None
    SMS_SENDER_ID: str | None = None
    NOTIFY_TIMEOUT = 10.0

    # Self-service sales. MPESA_BASE_URL is Daraja (sandbox by default; https://api.safaricom.co.ke live, or the
    # loopback simulator); PUBLIC_BASE_URL is how Safaricom and the routers reach RouterDeck (callback URL,
    # login page download); empty means the address of the request.
    MPESA_BASE_URL = "https://sandbox.safaricom.co.ke"
    MPESA_TIMEOUT = 10.0
    PUBLIC_BASE_URL = ""
    # STK prompts allowed per phone number, per device MAC and per client address within the window (seconds).
    PORTAL_LIMIT_PER_PHONE = 3
    PORTAL_LIMIT_PER_MAC = 5
    PORTAL_LIMIT_PER_IP = 20
    PORTAL_LIMIT_WINDOW = 600
    # "thread" runs a payment's follow-up (router login, SMS, pool top-up) on a worker; "inline" in the request.
    PORTAL_FOLLOW_UP = "thread"
    # SMS receipts go through the SMS_* account above (no API key, no SMS) with this timeout.
    SMS_TIMEOUT = 10.0

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Dashboard sessions are rows on the server: 12 hours, or with "remember me" 30 days (never longer).
    WEB_SESSION_LIFETIME = timedelta(hours=12)
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    JSON_SORT_KEYS = False

    # Scale mode (see README "Scale out"): a Redis broker for Celery and shared rate limits, workers that
    # /readyz expects to have seen within WORKER_STALE_SECONDS, and a bearer token for /metrics/fleet
    # (unset: the endpoint answers 404).
    BROKER_URL: str | None = None
    READY_WORKER_KINDS: list[str] = []  # noqa: RUF012
    WORKER_STALE_SECONDS = 180
    HEALTH_TIMEOUT = 2.0
    METRICS_TOKEN: str | None = None
    # Scale mode's polling: routers per enqueued shard, how long a lease lasts (a dead worker's routers are
    # free again after it: keep it under POLL_INTERVAL), how often the scheduler looks for due routers, and
    # after how long Redis hands an unacknowledged task to another worker.
    POLL_SHARD_SIZE = 500
    POLL_LEASE_SECONDS = 30
    SCHEDULER_TICK = 2.0
    CELERY_VISIBILITY_TIMEOUT = 300
