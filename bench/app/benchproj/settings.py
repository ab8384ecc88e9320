"""A minimal Django project for bench/app: one consumer with a trivial acking handler."""
import os

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "benchproj.urls"
INSTALLED_APPS = ["benchproj"]
MIDDLEWARE = []
DATABASES = {}
USE_TZ = True
SIO_APP_SECRET = os.environ.get("SIO_APP_SECRET", "bench-app-secret-0123456789")
SIO_CONSUMERS = ["benchproj.consumers"]
