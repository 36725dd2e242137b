# The geo-assets web service. docker-compose.yml runs it next to PostGIS;
# `geo-assets db upgrade` (the compose `migrate` service) prepares the schema.

# The map pages serve Leaflet and the other map files themselves (no CDN): fetch them
# with the same script the tests use, in a stage that needs Node.js.
FROM node:20-slim AS map-assets
WORKDIR /src
COPY scripts/ensure_assets.sh ./scripts/
COPY maps/static-src ./maps/static-src
RUN GEO_ASSETS_STATIC_DIR=/static bash scripts/ensure_assets.sh

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # The taxonomy and sample data are read from /app/data.
    GEO_ASSETS_DATA_DIR=/app/data \
    GEO_ASSETS_STATIC_DIR=/app/static

WORKDIR /app
COPY pyproject.toml README.md ./
COPY geo_assets ./geo_assets
COPY api ./api
COPY maps ./maps
COPY data ./data
COPY --from=map-assets /static ./static
RUN pip install . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin geoassets

USER geoassets
EXPOSE 8000
CMD ["geo-assets", "serve", "--host", "0.0.0.0", "--port", "8000"]
