# ofsted-watch: the daemon in a slim image, SQLite database on the /data volume.
# The install step is `pip install '.[postgres]'`, as in the README; tests/test_docker.py checks it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    OFSTED_WATCH_CONFIG=/etc/ofsted-watch/ofsted-watch.toml

RUN useradd --system --create-home --home-dir /home/ofsted --uid 10001 ofsted \
    && mkdir -p /data /etc/ofsted-watch && chown ofsted /data

WORKDIR /src
COPY pyproject.toml README.md ./
COPY scraper ./scraper
RUN pip install -q '.[postgres]'

COPY config/docker.toml /etc/ofsted-watch/ofsted-watch.toml

USER ofsted
WORKDIR /data
VOLUME ["/data"]
EXPOSE 9108

# The slim image has no curl: probe /healthz with the standard library (200 = healthy).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=8).status == 200 else 1)"]

ENTRYPOINT ["ofsted-watch"]
CMD ["run"]
