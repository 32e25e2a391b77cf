"""The floor `make bench` measures against: a bare Flask app that answers 204, served the way the
tutorial's original backend was (`gunicorn --workers 1 --threads 8`). Ratios against it, measured in
the same run, hold when the machine's speed drifts."""
from flask import Flask, Response

app = Flask(__name__)


@app.post("/")
def empty():
    return Response(status=204)


@app.get("/healthz")
def healthz():
    return "ok"  # for the harness to know it is up; not measured
