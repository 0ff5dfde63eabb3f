"""The worker's module, which entrypoint_celery.sh names (`celery -A celery_worker_docker.celery`).

Upstream (v1.7.7, celery_worker_docker.py) imports `celery` from the app package, where
app/__init__.py makes it (`Celery(__name__, broker=Config.CELERY_BROKER_URL)`), builds the app and
pushes its context, then imports the task modules. The stand-in builds the app the same way (so a
worker without the app's environment fails as PieFed's does) but makes Celery here, so that the
other stand-in commands do not import it; it requires CELERY_BROKER_URL, and defines no tasks."""

import os

from celery import Celery

from app import create_app

app = create_app()
app.app_context().push()

celery = Celery("app", broker=os.environ["CELERY_BROKER_URL"])
