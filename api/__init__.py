"""The HTTP service: a FastAPI app factory (``api.app.create_app``) over ``geo_assets``."""
