# syntax=docker/dockerfile:1
# grau's production image: granian serving app:create_app() as an unprivileged user.
# Start-up (wait for the database, migrate, seed, exec `python -m grau.server`) is
# scripts/entrypoint.py; the server's settings come from the environment (grau/server.py).
#
#   docker build -t grau .
#   docker run --env-file .env -p 8000:8000 grau

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---- builder: turn the pinned runtime requirements into wheels ------------------------
FROM ${PYTHON_IMAGE} AS builder
WORKDIR /build
COPY requirements/production.txt ./
# Every pinned package ships a manylinux wheel, so no compiler is installed; if one ever
# needs building, only this stage grows.
RUN pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels \
        -r production.txt \
    && cp production.txt /wheels/

# ---- runtime: the wheels and the files that run, nothing else --------------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GRAU_ENV=production \
    PORT=8000

RUN groupadd --system --gid 10001 grau \
    && useradd --system --uid 10001 --gid grau --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin grau

# Mounted rather than copied, so the wheels never become a layer of the final image.
# --no-index: install exactly the wheels the builder made, never reach for PyPI.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels -r /wheels/production.txt

WORKDIR /app
# Owned by root and only readable by grau: the process cannot rewrite its own code.
COPY alembic.ini app.py ./
COPY alembic/ alembic/
COPY grau/ grau/
COPY scripts/entrypoint.py scripts/entrypoint.py
# Byte-compile now, since the non-root user cannot write __pycache__ at run time.
RUN python -m compileall -q app.py alembic grau scripts

USER 10001:10001
EXPOSE 8000
# /health says the process answers (readiness, with the database, is /ready). curl is
# not in the slim image; urlopen raises, so exits non-zero, on any non-2xx answer.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/health', timeout=4)"]
CMD ["python", "/app/scripts/entrypoint.py"]
