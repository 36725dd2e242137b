"""A synthetic population layer for the sample area (Bradford district), per H3 cell.

SYNTHETIC: the numbers are made up to look plausible, for demos and tests; they are not
census counts and the need weight is not the Index of Multiple Deprivation.

How it is made, deterministically (no network, no randomness beyond a fixed seed):

- cells: H3 resolution 8 (about 0.74 km^2 each) whose centres lie in the sample extent;
- density: a rural floor plus, for each sample centre (``data/sample/vocabulary.json``), a
  Gaussian bump of height proportional to the centre's weight and twice its asset spread
  (people live further out than the activities cluster), times a little lognormal
  texture; scaled so the district totals ``BRADFORD_POPULATION`` people (about the
  2021 census figure of 546,400) and rounded to whole people (largest remainder);
- need: a synthetic deprivation score per centre (inner Bradford and central Keighley
  high, Ilkley and Baildon low, the countryside in between), blended by the same kernels,
  and given as a weight ``need = 0.5 + score`` (0.5 to 1.5; about 1 on average).

The committed file ``data/coverage/bradford_population_r8.csv`` (h3, population, need) is
what :func:`generate_population` writes; a test regenerates it and compares the bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from geo_assets.coverage.demand import Demand, cells_over_area, resample_cells
from geo_assets.synthetic import BRADFORD_CENTRES, SAMPLE_EXTENT, Centre
from geo_assets.taxonomy import DATA_DIR

POPULATION_SEED = 20261102
POPULATION_RESOLUTION = 8
BRADFORD_POPULATION = 550_000
POPULATION_PATH = DATA_DIR / "coverage" / f"bradford_population_r{POPULATION_RESOLUTION}.csv"
# People per cell far from any centre, before scaling (moorland and farmland).
RURAL_FLOOR = 0.02
# How much wider people spread than the assets of a centre (sigma multiplier).
SPREAD_FACTOR = 2.0
TEXTURE_SIGMA = 0.25
RURAL_DEPRIVATION = 0.3
# Synthetic deprivation scores (0 least, 1 most deprived) of the sample centres; unlisted: 0.5.
CENTRE_DEPRIVATION: dict[str, float] = {
    "Bradford city centre": 0.9,
    "Manningham": 0.95,
    "Girlington": 0.9,
    "Great Horton": 0.8,
    "Bowling": 0.85,
    "Wibsey": 0.6,
    "Low Moor": 0.55,
    "Eccleshill": 0.65,
    "Idle": 0.4,
    "Allerton": 0.6,
    "Thornton": 0.4,
    "Queensbury": 0.35,
    "Shipley": 0.55,
    "Saltaire": 0.3,
    "Baildon": 0.2,
    "Bingley": 0.3,
    "Keighley": 0.75,
    "Haworth": 0.35,
    "Silsden": 0.25,
    "Ilkley": 0.1,
}
_M_PER_DEG_LAT = 111_320.0


def sample_area() -> object:
    """The sample extent as a shapely box (lon/lat)."""
    import shapely

    south, north, west, east = SAMPLE_EXTENT
    return shapely.box(west, south, east, north)


def _largest_remainder(values: np.ndarray, total: int) -> np.ndarray:
    """Whole numbers proportional to ``values`` that add up to ``total`` exactly."""
    exact = values / values.sum() * total
    whole = np.floor(exact).astype(np.int64)
    short = total - int(whole.sum())
    # Ties broken by position, so the result never depends on sort stability.
    order = np.lexsort((np.arange(len(exact)), -(exact - whole)))
    whole[order[:short]] += 1
    return whole


def generate_population(
    *,
    seed: int = POPULATION_SEED,
    resolution: int = POPULATION_RESOLUTION,
    total: int = BRADFORD_POPULATION,
    centres: tuple[Centre, ...] = BRADFORD_CENTRES,
) -> Demand:
    """The synthetic Bradford population per H3 cell (see the module notes)."""
    import h3

    cells = cells_over_area(sample_area(), resolution)
    centre_ll = np.array([h3.cell_to_latlng(c) for c in cells])
    lat, lon = centre_ll[:, 0], centre_ll[:, 1]
    kernels = np.zeros((len(cells), len(centres)))
    for k, c in enumerate(centres):
        north_m = (lat - c.lat) * _M_PER_DEG_LAT
        east_m = (lon - c.lon) * _M_PER_DEG_LAT * np.cos(np.radians(c.lat))
        sigma_m = c.spread_m * SPREAD_FACTOR
        kernels[:, k] = c.weight * np.exp(-(north_m**2 + east_m**2) / (2 * sigma_m**2))
    weights = np.array([c.weight for c in centres])
    bump = kernels.sum(axis=1) / weights.sum()
    rng = np.random.default_rng(seed)
    texture = rng.lognormal(0.0, TEXTURE_SIGMA, len(cells))
    density = (RURAL_FLOOR + bump) * texture
    population = _largest_remainder(density, total)

    score_c = np.array([CENTRE_DEPRIVATION.get(c.name, 0.5) for c in centres])
    floor = RURAL_FLOOR * weights.mean()
    score = (kernels @ score_c + floor * RURAL_DEPRIVATION) / (kernels.sum(axis=1) + floor)
    score = np.clip(score + rng.normal(0.0, 0.04, len(cells)), 0.0, 1.0)
    need = np.round(0.5 + score, 3)
    return Demand.from_cells(cells, population.astype(float), need)


def population_csv(demand: Demand) -> str:
    """The CSV text of a cell population layer: h3, population (whole people), need."""
    out = io.StringIO()
    out.write("h3,population,need\n")
    for cell, pop, need in zip(demand.ids, demand.population, demand.need, strict=True):
        out.write(f"{cell},{int(round(pop))},{need:.3f}\n")
    return out.getvalue()


def write_population(path: Path | str = POPULATION_PATH, *, seed: int = POPULATION_SEED) -> Path:
    """Regenerate the committed population file (same seed, same bytes)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(population_csv(generate_population(seed=seed)), encoding="utf-8")
    return target


def sample_population(resolution: int = POPULATION_RESOLUTION) -> Demand:
    """The committed synthetic Bradford population, at ``resolution`` (see resample_cells)."""
    from geo_assets.coverage.demand import read_demand

    demand = read_demand(POPULATION_PATH, population="population", need="need")
    return resample_cells(demand, resolution)
