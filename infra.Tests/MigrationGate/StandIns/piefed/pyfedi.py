"""Stands in for PieFed's pyfedi.py, the module FLASK_APP must name.

As upstream (pyfedi.py at v1.7.7: `app = create_app()` then `cli.register(app)`), PieFed's own commands
exist only on the app this module builds. Without FLASK_APP, real Flask discovers the `app` package's
factory instead: `flask db ...` works there and every PieFed command is "No such command". This stand-in
runs under real Flask, Flask-Migrate and Alembic, so it refuses exactly what the real one refuses.
"""

from app import cli, create_app

app = create_app()
cli.register(app)
