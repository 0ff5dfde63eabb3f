"""Stands in for the `flask` CLI of the PieFed image in db-init's tests of its default commands.

Accepts exactly `flask db upgrade` and `flask init-db --interactive no`, handing each to its stand-in,
so that a test sees db-init's defaults run unchanged; any other arguments fail loudly.
"""

import os
import sys

STAND_INS = {
    ("db", "upgrade"): "standin_migrate.py",
    ("init-db", "--interactive", "no"): "standin_seed.py",
}

arguments = tuple(sys.argv[1:])
if arguments not in STAND_INS:
    print(f"STANDIN-FLASK: unexpected arguments {list(arguments)}", file=sys.stderr)
    sys.exit(64)
print(f"STANDIN-FLASK: flask {' '.join(arguments)}")
sys.stdout.flush()
stand_in = os.path.join(os.path.dirname(os.path.abspath(__file__)), STAND_INS[arguments])
os.execv(sys.executable, [sys.executable, stand_in])
