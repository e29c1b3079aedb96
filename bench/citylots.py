"""Pipework's synthetic CityLots events: GeoJSON features shaped like San Francisco's "City Lots" data.

event-ruler's benchmark runs its rule sets over the real City Lots file (213,068 features, ~900 bytes each),
which is not available here. This generator makes a deterministic stand-in of the same shape: ``properties``
(MAPBLKLOT, BLKLOT, BLOCK_NUM, LOT_NUM, FROM_ST, TO_ST, STREET, ST_TYPE, ODD_EVEN) and ``geometry`` (``type``,
``coordinates`` as rings of {x, y, z} points, ``firstCoordinates``). The same seed always gives the same bytes,
so match counts are reproducible; they differ from the published ones.

    python bench/citylots.py [COUNT] [--seed N] > citylots.jsonl
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from typing import Any

import orjson

DEFAULT_SEED = 1906

# Street names in rough order of frequency (the most common first); chosen so that the rule sets' prefixes
# (AC, BL, DR, FU, RH), suffixes (ON, KE, MM, ING, GO) and names (FULTON, MASON, JEFFERSON, ...) all occur.
STREETS = (
    (
        "MISSION MARKET FULTON MASON HYDE CHESTNUT JEFFERSON BEACH FOLSOM HOWARD HARRISON BRYANT VALENCIA GUERRERO "
        "DOLORES CHURCH SANCHEZ NOE CASTRO DIAMOND GEARY CLEMENT IRVING JUDAH TARAVAL NORIEGA ORTEGA LINCOLN FUNSTON "
        "FUNSTON FULTO BLAKE BLAIRS DRUMM DRUMMOND ACTON ACADIA RHODE_ISLAND RHINE LAKE DRAKE BROOKE SHRAKE ALAMEDA "
        "SAN_DIEGO SAN_DIEGO CHICAGO MONTEREY OCEAN SLOAT PORTOLA PANORAMA BURNETT ELLING STERLING BOWLING KING "
        "KING FLEMMING HAMM SAMM LEXINGTON WASHINGTON JACKSON CLAY SACRAMENTO CALIFORNIA PINE BUSH SUTTER POST "
        "GREEN UNION FILBERT GREENWICH LOMBARD FRANCISCO BAY POLK LARKIN JONES TAYLOR POWELL STOCKTON GRANT KEARNY "
        "MONTGOMERY SANSOME BATTERY FRONT DAVIS BEALE FREMONT FIRST SECOND THIRD FOURTH FIFTH SIXTH SEVENTH EIGHTH "
        "NINTH TENTH ELEVENTH TWELFTH SUNSET PERSIA RUSSIA FRANCE ITALY AVALON MADRID LISBON LONDON PARIS NAPLES "
        "VIENNA ATHENS MOSCOW BRAZIL PERU GOETTINGEN FELTON DWIGHT WAYLAND WOOLSEY HARKNESS GARFIELD MASONIC PAGE"
    )
    .replace("_", " ")
    .split()
)

# (street type, weight): ST dominates, as in the real data.
ST_TYPES = (
    ("ST", 54),
    ("AVE", 24),
    ("BLVD", 5),
    ("WAY", 4),
    ("TER", 4),
    ("PL", 3),
    ("DR", 3),
    ("CT", 2),
    ("LN", 1),
)

# Coordinates the numeric rule sets name exactly; a few lots are planted on them so "=" rules match.
PLANTED_X = -122.42916360922355
PLANTED_Y = 37.729900216217324


class CityLots:
    """A deterministic stream of lot features: ``CityLots(seed).features(count)`` or ``.lines(count)``."""

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self.rng = random.Random(seed)
        self._types = [name for name, weight in ST_TYPES for _ in range(weight)]

    def _street(self) -> str:
        # A Zipf-like choice: low indexes are far more frequent.
        rank = int(len(STREETS) * self.rng.random() ** 2.5)
        return STREETS[rank]

    def _ring(self, cx: float, cy: float) -> list[dict[str, Any]]:
        rng = self.rng
        points = []
        for _ in range(rng.randint(6, 10)):
            points.append(
                {
                    "x": round(cx + rng.uniform(-3e-4, 3e-4), 14),
                    "y": round(cy + rng.uniform(-3e-4, 3e-4), 14),
                    "z": 0 if rng.random() < 0.999 else 1,
                }
            )
        points.append(dict(points[0]))  # GeoJSON rings are closed
        return points

    def feature(self, number: int) -> dict[str, Any]:
        rng = self.rng
        block = rng.randint(1, 7999)
        lot = rng.randint(1, 250)
        mapblklot = "VACSTWIL" if number % 100_000 == 42 else f"{block:04d}{lot:03d}"
        start = rng.randint(0, 3999)
        end = start + rng.choice((0, 0, 2, 6, 20, 98))
        ring = self._ring(-122.52 + rng.random() * 0.17, 37.70 + rng.random() * 0.11)
        if number % 5_000 == 1234:
            ring[0]["x"] = ring[-1]["x"] = PLANTED_X
        if number % 20_000 == 777:
            ring[1]["y"] = PLANTED_Y
        multi = rng.random() < 0.001
        return {
            "type": "Feature",
            "properties": {
                "MAPBLKLOT": mapblklot,
                "BLKLOT": mapblklot,
                "BLOCK_NUM": mapblklot[:4],
                "LOT_NUM": mapblklot[4:],
                "FROM_ST": str(start),
                "TO_ST": str(end),
                "STREET": self._street(),
                "ST_TYPE": rng.choice(self._types),
                "ODD_EVEN": "O" if start % 2 else "E",
            },
            "geometry": {
                "type": "MultiPolygon" if multi else "Polygon",
                "coordinates": [[ring]] if multi else [ring],
                "firstCoordinates": dict(ring[0]),
            },
        }

    def features(self, count: int) -> Iterator[dict[str, Any]]:
        for number in range(count):
            yield self.feature(number)

    def lines(self, count: int) -> list[bytes]:
        """``count`` events as compact JSON text (what the benchmark feeds the matchers)."""
        return [orjson.dumps(f) for f in self.features(count)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("count", nargs="?", type=int, default=213_068)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    out = sys.stdout.buffer
    for line in CityLots(args.seed).lines(args.count):
        out.write(line + b"\n")


if __name__ == "__main__":
    main()
