"""Write the SYNTHETIC geocoder sample for the Bradford demo area (see README.md here).

    .venv/bin/python data/geocode/make_sample.py

Deterministic: the same bytes every run. The postcodes are made up (plausible BD/LS29
codes scattered around the demo sample's centres); they are NOT ONS data and any
resemblance to a real postcode's position is accidental. The places are real
neighbourhoods and landmarks with APPROXIMATE coordinates, good enough for a demo.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 20261127
# The demo sample's extent: south, north, west, east (geo_assets.synthetic.SAMPLE_EXTENT).
EXTENT = (53.72, 53.93, -2.05, -1.64)
SPREAD_M = 600.0
# Postcode district -> (approximate centre lat, lon, how many codes to make).
DISTRICTS: dict[str, tuple[float, float, int]] = {
    "BD1": (53.795, -1.752, 14),
    "BD2": (53.817, -1.727, 10),
    "BD3": (53.799, -1.730, 10),
    "BD4": (53.780, -1.733, 10),
    "BD5": (53.780, -1.760, 10),
    "BD6": (53.769, -1.778, 10),
    "BD7": (53.780, -1.780, 10),
    "BD8": (53.805, -1.775, 12),
    "BD9": (53.813, -1.785, 8),
    "BD10": (53.837, -1.740, 10),
    "BD12": (53.754, -1.756, 8),
    "BD13": (53.779, -1.848, 10),
    "BD14": (53.782, -1.815, 6),
    "BD15": (53.802, -1.814, 8),
    "BD16": (53.848, -1.838, 10),
    "BD17": (53.849, -1.787, 8),
    "BD18": (53.835, -1.778, 12),
    "BD20": (53.914, -1.937, 6),
    "BD21": (53.867, -1.911, 12),
    "BD22": (53.830, -1.956, 8),
    "LS29": (53.925, -1.822, 8),
}
# Letters used in the last two characters of a UK postcode.
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
# Real places with APPROXIMATE points (degrees), and their kind.
PLACES: tuple[tuple[str, float, float, str], ...] = (
    ("Bradford", 53.795, -1.752, "city"),
    ("Keighley", 53.867, -1.911, "town"),
    ("Shipley", 53.833, -1.773, "town"),
    ("Bingley", 53.848, -1.838, "town"),
    ("Ilkley", 53.925, -1.822, "town"),
    ("Silsden", 53.914, -1.937, "town"),
    ("Baildon", 53.849, -1.787, "town"),
    ("Queensbury", 53.768, -1.846, "village"),
    ("Thornton", 53.790, -1.850, "village"),
    ("Haworth", 53.830, -1.956, "village"),
    ("Saltaire", 53.838, -1.790, "village"),
    ("Manningham", 53.805, -1.765, "suburb"),
    ("Girlington", 53.801, -1.787, "suburb"),
    ("Great Horton", 53.780, -1.780, "suburb"),
    ("Bowling", 53.780, -1.733, "suburb"),
    ("Wibsey", 53.769, -1.778, "suburb"),
    ("Low Moor", 53.754, -1.756, "suburb"),
    ("Eccleshill", 53.817, -1.727, "suburb"),
    ("Idle", 53.837, -1.740, "suburb"),
    ("Allerton", 53.802, -1.814, "suburb"),
    ("Clayton", 53.782, -1.815, "suburb"),
    ("Heaton", 53.813, -1.785, "suburb"),
    ("Little Horton", 53.783, -1.760, "suburb"),
    ("Bradford Interchange", 53.791, -1.750, "station"),
    ("Bradford Forster Square", 53.797, -1.753, "station"),
    ("Shipley station", 53.833, -1.773, "station"),
    ("Saltaire station", 53.838, -1.791, "station"),
    ("Keighley station", 53.868, -1.902, "station"),
    ("Ilkley station", 53.925, -1.823, "station"),
    ("City Park", 53.793, -1.753, "landmark"),
    ("City Hall", 53.792, -1.752, "landmark"),
    ("National Science and Media Museum", 53.789, -1.755, "landmark"),
    ("University of Bradford", 53.792, -1.764, "landmark"),
    ("Bradford Royal Infirmary", 53.805, -1.794, "landmark"),
    ("Cartwright Hall", 53.809, -1.771, "landmark"),
    ("Salts Mill", 53.839, -1.792, "landmark"),
    ("Bronte Parsonage Museum", 53.830, -1.960, "landmark"),
    ("Cliffe Castle", 53.875, -1.920, "landmark"),
    ("Five Rise Locks", 53.857, -1.843, "landmark"),
    ("Lister Park", 53.809, -1.772, "park"),
    ("Peel Park", 53.805, -1.744, "park"),
    ("Bowling Park", 53.775, -1.741, "park"),
    ("Horton Park", 53.779, -1.774, "park"),
    ("Roberts Park", 53.841, -1.787, "park"),
)
POSTCODE_COLUMNS = ("pcd", "pcd2", "pcds", "dointr", "doterm", "lat", "long")


def _postcodes() -> list[dict[str, str]]:
    rng = np.random.default_rng(SEED)
    south, north, west, east = EXTENT
    rows, used = [], set()
    for outward, (lat0, lon0, count) in DISTRICTS.items():
        made = 0
        while made < count:
            sector = int(rng.integers(1, 10))
            letters = "".join(_INWARD_LETTERS[int(i)] for i in rng.integers(0, 20, size=2))
            inward = f"{sector}{letters}"
            if (outward, inward) in used:
                continue
            used.add((outward, inward))
            north_m, east_m = rng.normal(0.0, SPREAD_M, size=2)
            lat = min(north, max(south, lat0 + north_m / 111_320.0))
            lon = min(east, max(west, lon0 + east_m / (111_320.0 * math.cos(math.radians(lat0)))))
            year, month = 80 + int(rng.integers(0, 20)), 1 + int(rng.integers(0, 12))
            rows.append(
                {
                    "pcd": f"{outward:<4}{inward}"[:7] if len(outward) < 4 else outward + inward,
                    "pcd2": f"{outward:<4} {inward}",
                    "pcds": f"{outward} {inward}",
                    "dointr": f"19{year}{month:02d}",
                    "doterm": "",
                    "lat": f"{lat:.6f}",
                    "long": f"{lon:.6f}",
                }
            )
            made += 1
    return sorted(rows, key=lambda r: (r["pcds"].split()[0][:2], len(r["pcds"]), r["pcds"]))


def main(folder: Path = HERE) -> None:
    with open(folder / "postcodes_sample.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=POSTCODE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(_postcodes())
    with open(folder / "places_sample.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(("name", "lat", "lon", "kind"))
        writer.writerows((n, f"{la:.4f}", f"{lo:.4f}", k) for n, la, lo, k in PLACES)


if __name__ == "__main__":
    main()
