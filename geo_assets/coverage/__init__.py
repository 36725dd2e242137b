"""Coverage analysis for planners: who can reach what, where access is missing, where to add.

- :mod:`.demand`: demand units (H3 cells, user polygons) with population and need;
  :mod:`.population`: the synthetic Bradford population layer of the sample;
- :mod:`.costs`: supply points and the sparse (demand, supply, minutes) cost table;
- :mod:`.measures`: nearest minutes, cumulative opportunities, 2SFCA, E2SFCA, Gaussian
  2SFCA and the DfT journey-time summary, one plain function per formula;
- :mod:`.gaps`: gap scores and ranking; :mod:`.sites`: greedy maximal covering location;
- :mod:`.analysis`: one run end to end and its files; :mod:`.cache`: results per
  (dataset version, parameters); :mod:`.chart`: the access-distribution PNG;
- :mod:`.service`: one run over a store's assets, shared by the command line and the web.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names, for type checkers and editors
    from geo_assets.coverage.analysis import (
        CoverageParams,
        CoverageResult,
        analyse,
        gaps_layer,
        published_assets,
        to_layer,
        write_result,
    )
    from geo_assets.coverage.cache import CoverageCache, dataset_version
    from geo_assets.coverage.costs import CostTable, Supply, build_cost_table
    from geo_assets.coverage.demand import (
        Demand,
        cells_over_area,
        polygons_to_cells,
        read_demand,
        resample_cells,
    )
    from geo_assets.coverage.gaps import GapDefinition
    from geo_assets.coverage.population import sample_population
    from geo_assets.coverage.service import CoverageRun, cached_run, run_coverage
    from geo_assets.coverage.sites import (
        SiteSuggestion,
        candidates_from_cells,
        candidates_from_venues,
        read_candidates,
        suggest_sites,
    )

# Public names and the module that defines each. Imported on first use, so that the
# command line can load ``geo_assets.coverage.command`` without numpy, h3 and scipy.
_EXPORTS = {
    "CoverageParams": "analysis",
    "CoverageResult": "analysis",
    "analyse": "analysis",
    "published_assets": "analysis",
    "to_layer": "analysis",
    "gaps_layer": "analysis",
    "write_result": "analysis",
    "CoverageCache": "cache",
    "dataset_version": "cache",
    "CostTable": "costs",
    "Supply": "costs",
    "build_cost_table": "costs",
    "Demand": "demand",
    "cells_over_area": "demand",
    "polygons_to_cells": "demand",
    "read_demand": "demand",
    "resample_cells": "demand",
    "GapDefinition": "gaps",
    "sample_population": "population",
    "CoverageRun": "service",
    "cached_run": "service",
    "run_coverage": "service",
    "SiteSuggestion": "sites",
    "candidates_from_cells": "sites",
    "candidates_from_venues": "sites",
    "read_candidates": "sites",
    "suggest_sites": "sites",
}
__all__ = [
    "CostTable",
    "CoverageCache",
    "CoverageParams",
    "CoverageResult",
    "CoverageRun",
    "Demand",
    "GapDefinition",
    "SiteSuggestion",
    "Supply",
    "analyse",
    "build_cost_table",
    "cached_run",
    "candidates_from_cells",
    "candidates_from_venues",
    "cells_over_area",
    "dataset_version",
    "gaps_layer",
    "polygons_to_cells",
    "published_assets",
    "read_candidates",
    "read_demand",
    "resample_cells",
    "run_coverage",
    "sample_population",
    "suggest_sites",
    "to_layer",
    "write_result",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
