"""Upstream's gunicorn.conf.py (v1.7.7) where the probes meet it: gthread workers, the heartbeat in
/dev/shm, logs on stdout. It binds where the test says instead of 0.0.0.0:5000, so that tests can
run side by side on loopback."""

import os

bind = os.environ["STANDIN_WEB_BIND"]
threads = 2
worker_tmp_dir = "/dev/shm"
worker_class = "gthread"
accesslog = "-"
errorlog = "-"
