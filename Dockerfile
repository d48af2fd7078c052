# The timeline service under gunicorn; an empty database is seeded on first start.
#   docker build -t timeline .
#   docker run -p 8000:8000 -v timeline-data:/data timeline
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TIMELINE_DATABASE=/data/timeline.db

WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY seed ./seed
# A plain (non-editable) install: the seed ships inside the package as service/_seed.
RUN pip install . \
    && useradd --system --uid 10001 --home /data timeline \
    && mkdir -p /data && chown timeline /data \
    && rm -rf /src

USER timeline
WORKDIR /data
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
# `timeline serve` seeds an empty database, then execs gunicorn with service/gunicorn_conf.py.
CMD ["timeline", "serve", "--host", "0.0.0.0", "--port", "8000"]
