# The geo-assets web service. docker-compose.yml runs it next to PostGIS;
# `geo-assets db upgrade` (the compose `migrate` service) prepares the schema.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # The taxonomy and sample data are read from /app/data.
    GEO_ASSETS_DATA_DIR=/app/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY geo_assets ./geo_assets
COPY api ./api
COPY maps ./maps
COPY data ./data
RUN pip install . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin geoassets

USER geoassets
EXPOSE 8000
CMD ["geo-assets", "serve", "--host", "0.0.0.0", "--port", "8000"]
