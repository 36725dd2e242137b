"""Folium map builders over ``geo_assets``: results, directory and coverage maps.

Filled by a later issue; ``api`` may import this package, never the reverse.
"""
