"""The worker's module, which entrypoint_celery.sh names (`celery -A celery_worker_docker.celery`):
like upstream's, it builds the app, so a worker without the app's environment fails as PieFed's
does, and it offers Celery on CELERY_BROKER_URL. The stand-in defines no tasks."""

import os

from celery import Celery

from app import create_app

app = create_app()
app.app_context().push()

celery = Celery("app", broker=os.environ["CELERY_BROKER_URL"])
