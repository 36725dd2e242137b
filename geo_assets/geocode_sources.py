"""Where the :class:`~geo_assets.geocode.Geocoder` looks things up in a deployment.

:func:`geocoder_for` builds the geocoder the service and the CLI use: the store's
postcode table and places table (``geo-assets import postcodes|places``), and, only
when the ``geocoder_online`` setting is on, OpenStreetMap's Nominatim through geopy as a
last resort for place names the local tables do not know.

The online provider is OFF by default and never used in tests: what a practitioner
types (it may be a home address) then leaves the machine, and the public Nominatim
allows about one request a second. Turn it on with ``GEO_ASSETS_GEOCODER_ONLINE=true``
(and ``pip install geopy``); point ``GEO_ASSETS_NOMINATIM_DOMAIN`` at your own
Nominatim for heavier use.
"""

from __future__ import annotations

import time
from typing import Any

from geo_assets.geocode import Geocoder, PlaceSearch
from geo_assets.settings import Settings
from geo_assets.store.base import Store
from geo_assets.store.gazetteer import Place, check_point, normalise_place_name

# Seconds between two requests to the same Nominatim (its usage policy for the public one).
NOMINATIM_MIN_DELAY_S = 1.0


class NominatimPlaces:
    """Place search on Nominatim (geopy), shaped like the stores' ``search_places``.

    Parameters
    ----------
    user_agent : sent with every request, as Nominatim's policy asks (name your service).
    domain : the Nominatim server, e.g. "nominatim.openstreetmap.org".
    timeout_s : seconds to wait for an answer; a slow or failed request finds nothing.
    geolocator : anything with geopy's ``geocode(query, exactly_one=, limit=, timeout=)``
        (tests pass a stand-in; by default ``geopy.geocoders.Nominatim``).
    """

    def __init__(
        self,
        *,
        user_agent: str,
        domain: str = "nominatim.openstreetmap.org",
        timeout_s: float = 5.0,
        geolocator: Any | None = None,
        min_delay_s: float = NOMINATIM_MIN_DELAY_S,
    ) -> None:
        if geolocator is None:
            try:
                from geopy.geocoders import Nominatim
            except ImportError as exc:
                raise RuntimeError(
                    "the online geocoder needs geopy: `pip install geopy`, "
                    "or turn GEO_ASSETS_GEOCODER_ONLINE off"
                ) from exc
            geolocator = Nominatim(user_agent=user_agent, domain=domain, timeout=timeout_s)
        self._geolocator = geolocator
        self._timeout_s = timeout_s
        self._min_delay_s = min_delay_s
        self._last_call = 0.0

    def search_places(self, query: str, *, limit: int = 10) -> list[Place]:
        wait = self._min_delay_s - (time.monotonic() - self._last_call)
        if wait > 0:
            time.sleep(wait)
        self._last_call = time.monotonic()
        try:
            found = self._geolocator.geocode(
                query, exactly_one=False, limit=limit, timeout=self._timeout_s
            )
        except Exception:  # network, HTTP and quota errors: answer "nothing found"
            return []  # (never log: the query may be someone's address)
        places = []
        for location in found or []:
            raw = getattr(location, "raw", None) or {}
            name = raw.get("name") or location.address
            try:
                lat, lon = check_point(location.latitude, location.longitude)
            except Exception:
                continue
            if not name or not normalise_place_name(name):
                continue
            kind = str(raw.get("addresstype") or raw.get("type") or "place")
            places.append(Place(str(name), lat, lon, kind, normalise_place_name(str(name))))
        return places


class FallbackPlaces:
    """The local places first; ``online`` only when the local search finds nothing."""

    def __init__(self, local: PlaceSearch, online: PlaceSearch) -> None:
        self.local = local
        self.online = online

    def search_places(self, query: str, *, limit: int = 10) -> list[Place]:
        return self.local.search_places(query, limit=limit) or self.online.search_places(
            query, limit=limit
        )


def geocoder_for(store: Store, settings: Settings | None = None) -> Geocoder:
    """The geocoder over ``store``'s postcode and place tables (plus Nominatim when the
    ``geocoder_online`` setting is on)."""
    settings = settings or Settings()
    places: PlaceSearch = store
    if settings.geocoder_online:
        online = NominatimPlaces(
            user_agent=settings.nominatim_user_agent,
            domain=settings.nominatim_domain,
            timeout_s=settings.geocoder_timeout_s,
        )
        places = FallbackPlaces(store, online)
    return Geocoder(postcodes=store, places=places)
