# grau's production image: granian serving app:create_app() as an unprivileged user.
# Start-up (wait for the database, migrate, seed, exec `python -m grau.server`) is
# scripts/entrypoint.py; the server's settings come from the environment (grau/server.py).
#
#   docker build -t grau .
#   docker run --env-file .env -p 8000:8000 grau
#
# PYTHON_IMAGE may name another Python 3.11 image with pip: make docker-smoke passes a
# stand-in built from Debian's packages (development/docker/python). No `# syntax=`
# line: BuildKit's built-in Dockerfile frontend reads this file, so none is pulled.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---- builder: turn the pinned runtime requirements into wheels ------------------------
FROM ${PYTHON_IMAGE} AS builder
WORKDIR /build
# wheelhouse/ is optional: wheels made on the host beforehand
#   pip wheel -r requirements/production.txt --wheel-dir wheelhouse
# (make docker-smoke does this). When it holds any, the wheels come from there alone
# (--no-index: the build needs no network, and a missing one fails the build); without
# it, pip downloads them from PyPI. The [e] lets the COPY match nothing when it is absent
# (a glob in a folder that is absent too would fail, hence not under build/).
COPY requirements/production.txt wheelhous[e] ./
# Every pinned package ships a manylinux wheel, so no compiler is installed; if one ever
# needs building, only this stage grows.
RUN if ls ./*.whl >/dev/null 2>&1; then \
        pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels \
            --no-index --find-links=. -r production.txt; \
    else \
        pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels \
            -r production.txt; \
    fi \
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
