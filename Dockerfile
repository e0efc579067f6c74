# ofsted-watch: the daemon in a slim image, SQLite database on the /data volume.
# The install step is the same `pip install .` the README and the tests exercise.
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

ENTRYPOINT ["ofsted-watch"]
CMD ["run"]
