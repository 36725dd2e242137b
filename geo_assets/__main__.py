"""``python -m geo_assets``: the ``geo-assets`` command, for when the script is not on PATH."""

from geo_assets.cli import app

app(prog_name="geo-assets")
