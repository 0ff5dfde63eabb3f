"""Stands in for PieFed's pyfedi.py, the module FLASK_APP must name and gunicorn serves.

As upstream (pyfedi.py at v1.7.7: `app = create_app()` then `cli.register(app)`), PieFed's own commands
exist only on the app this module builds. Without FLASK_APP, real Flask discovers the `app` package's
factory instead: `flask db ...` works there and every PieFed command is "No such command". This stand-in
runs under real Flask, Flask-Migrate and Alembic, so it refuses exactly what the real one refuses.

Its before_request is upstream's where probes meet it: every path but `/inbox` and those under
`/static/` loads the site row and asks Redis (upstream: get_site_as_dict(), memoized for 60 s, and
admin_ids through get_setting, cached in Redis), so `/health` fails while PostgreSQL or Redis is down.
The stand-in asks on every request, without the memo: stricter, never more lenient.
"""

from flask import request
from sqlalchemy import text

import app as application
from app import cli, create_app, db

app = create_app()
cli.register(app)


@app.before_request
def before_request():
    if request.path != "/inbox" and not request.path.startswith("/static/"):
        with db.engine.connect() as connection:
            connection.execute(text("SELECT id, name FROM site WHERE id = 1")).one()
        application.redis_client.get("admin_ids")
