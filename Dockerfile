# kimai-sync for a semantic.works stack: `kimai-sync serve` (the old service's routes, every
# schedule, and Prefect's server with its UI on port 4200, its database on the /data volume).
#   docker build -t kimai-sync .
# BASE: the official image, pinned; a test on a machine without a registry passes a local stand-in.
ARG BASE=python:3.11.11-slim-bookworm

FROM ${BASE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python3 -m venv /opt/venv
COPY pyproject.toml /src/
# The pinned dependencies only: the code itself runs from /app (as from a clone), where its
# deployments' entry points and prefect.yaml are, so a code change rebuilds no venv.
RUN python3 -c "import tomllib; print('\\n'.join(tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && /opt/venv/bin/pip install --quiet -r /tmp/requirements.txt

FROM ${BASE}
# Debian has a system user named `sync` already: the service runs as `kimaisync`.
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home kimaisync \
    && mkdir -p /data/prefect /app/scripts && chown -R kimaisync:kimaisync /data
COPY --from=builder /opt/venv /opt/venv
RUN printf '#!/bin/sh\nexec python -m kimaisync.cli "$@"\n' > /opt/venv/bin/kimai-sync && chmod 755 /opt/venv/bin/kimai-sync
COPY prefect.yaml pyproject.toml /app/
COPY kimaisync /app/kimaisync
COPY flows /app/flows
COPY tasks /app/tasks
COPY deployments /app/deployments
# mu-cli copies /app/scripts out of the service's container and runs a script in this image.
COPY scripts/config.json scripts/mu_route.py /app/scripts/
COPY scripts/from-kimai /app/scripts/from-kimai
COPY scripts/to-kimai /app/scripts/to-kimai
COPY scripts/lock-timesheets /app/scripts/lock-timesheets
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PREFECT_HOME=/data/prefect \
    PREFECT_UI_STATIC_DIRECTORY=/data/prefect/ui \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    PREFECT_SERVER_API_HOST=0.0.0.0 \
    PREFECT_SERVER_API_PORT=4200 \
    RECEIVER_HOST=0.0.0.0 \
    RECEIVER_PORT=80
WORKDIR /app
USER kimaisync
VOLUME /data
# 80: the receiver (stays inside the stack: its routes have no login); 4200: the Prefect UI and API.
EXPOSE 80 4200
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 CMD ["python", "-m", "kimaisync.healthcheck"]
# serve reads RECEIVER_HOST/RECEIVER_PORT: this is `kimai-sync serve --host 0.0.0.0 --port 80`.
CMD ["kimai-sync", "serve"]
