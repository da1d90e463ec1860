# voucherd: a slim image with the runtime dependencies only, from the lock file (hashes checked).
#   docker build -t voucherd .
#   docker run -p 8080:8080 -e VOUCHERD_DATABASE_URL=postgresql://... voucherd
# compose.yaml runs it with PostgreSQL, migrations and a demo client.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/voucherd
WORKDIR /src
# The dependencies first: this layer is rebuilt only when the lock file changes.
COPY requirements.lock ./
RUN /opt/voucherd/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN /opt/voucherd/bin/pip install --no-deps . \
    && /opt/voucherd/bin/pip uninstall --yes pip

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/voucherd --create-home \
    --shell /usr/sbin/nologin voucherd
COPY --from=build /opt/voucherd /opt/voucherd
ENV PATH=/opt/voucherd/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VOUCHERD_DATABASE_URL=sqlite:////var/lib/voucherd/voucherd.db
USER voucherd:voucherd
WORKDIR /var/lib/voucherd
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/ready', timeout=2)"]
CMD ["voucherd", "serve", "--host", "0.0.0.0", "--port", "8080"]
