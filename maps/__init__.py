"""Folium map builders over ``geo_assets``, and the local browser files they load.

- :mod:`maps.results`: a person's origin, reachable area and ranked matches;
- :mod:`maps.directory`: every published listing, clustered, a layer per category;
- :mod:`maps.coverage`: a choropleth of access per demand unit with gaps outlined;
- :mod:`maps.assets`: settings (``GEO_ASSETS_MAP_ASSETS``, ``GEO_ASSETS_TILES``), new maps,
  and serving Folium's JS/CSS from ``/static/`` so maps work offline;
- :mod:`maps.style`: one colour per top-level category, marker CSS, legends.

``api`` may import this package, never the reverse.
"""
