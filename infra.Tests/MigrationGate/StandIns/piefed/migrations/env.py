"""Alembic's environment for Flask-Migrate, reduced to what `flask db upgrade` needs."""

from alembic import context
from flask import current_app

with current_app.extensions["migrate"].db.engine.connect() as connection:
    context.configure(connection=connection, target_metadata=current_app.extensions["migrate"].db.metadata)
    with context.begin_transaction():
        context.run_migrations()
