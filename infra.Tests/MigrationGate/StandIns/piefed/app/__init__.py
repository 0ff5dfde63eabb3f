"""The stand-in app package: a factory like upstream's app/__init__.py, with Flask-Migrate registered
on it (so `flask db` exists with or without FLASK_APP), PieFed's own Redis client built from
CACHE_REDIS_URL as upstream's create_app builds it (app/utils.py: get_redis_connection), the
`/health` view of app/main/routes.py, and none of PieFed's own commands."""

import os

from flask import Blueprint, Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
migrate = Migrate()
redis_client = None

# Stricter than upstream's config.py, which would crash later (SERVER_NAME) or fall back to SQLite
# (DATABASE_URL): a command run without them must fail here, visibly.
REQUIRED_ENVIRONMENT = ("SERVER_NAME", "SECRET_KEY", "DATABASE_URL", "CACHE_REDIS_URL", "CELERY_BROKER_URL")

main = Blueprint("main", __name__)


@main.route("/health", methods=["HEAD", "GET"])
def health():
    return "Ok"


def create_app():
    global redis_client
    missing = [name for name in REQUIRED_ENVIRONMENT if not os.environ.get(name)]
    if missing:
        raise RuntimeError(f"STANDIN-PIEFED: the app cannot start without {', '.join(missing)}")
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    db.init_app(app)
    # Upstream's default: the `migrations` directory of the working directory (/app in the image).
    migrate.init_app(app, db)
    app.register_blueprint(main)
    from app.utils import get_redis_connection

    redis_client = get_redis_connection(os.environ["CACHE_REDIS_URL"])
    return app
