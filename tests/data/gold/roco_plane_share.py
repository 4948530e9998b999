"""Share of ROCO PLANE rows whose plane word is part of an anatomical name (issue 21).

    .venv/bin/python tests/data/gold/roco_plane_share.py CATALOG [--source roco]

Independent of how the catalog derives the plane (`catalog.caption_meta` looks for an imaging
noun after the word): this check looks for an anatomical or positional noun after it ("sagittal
sinus", "lateral ventricle", "frontal lobe", "transverse colon", "lateral half", "lateral to").
An image's plane fact counts as anatomical when every caption word that names its plane is
followed by one. Each plane fact the rules backend asks becomes 3 PLANE rows (yes/no, choice,
open), so rows = 3 x facts; images whose caption the catalog flagged non-English are left out
with `--exclude-non-english` (synth gives them no metadata row).
"""

from __future__ import annotations

import argparse
import re

import duckdb

PLANE_OF = {
    "axial": "axial",
    "transverse": "axial",
    "coronal": "coronal",
    "sagittal": "sagittal",
    "lateral": "lateral",
    "frontal": "frontal",
}
ASKED = {"axial", "coronal", "sagittal", "frontal", "lateral"}  # synth PLANE_ALTERNATIVES
ANATOMY_NEXT = frozenset(
    """sinus sinuses ventricle ventricles lobe lobes colon mesocolon process processes wall walls
    aspect aspects border borders side sides part parts portion half margin margins edge surface
    incisor incisors horn horns bone bones meniscus malleolus condyle condyles epicondyle
    compartment cortex gyrus sulcus ligament ligaments muscle muscles diameter diameters suture
    sutures mass masses recess region third segment segments branch branches femoral tibial
    plateau rectus pterygoid cerebral orbital sinusitis canthus collateral column pole poles
    arch tract tubercle facet facets cusp fossa lamina nucleus plate ray rays to of bossing
    myelitis fracture fractures displacement dimension extent extension approach
    decubitus""".split()
)
_WORD = re.compile(r"[a-z]+")


def anatomical(caption: str, plane: str) -> bool:
    """True when every word naming `plane` in `caption` is followed by an anatomical noun."""
    words = _WORD.findall(caption.lower())
    hits = [i for i, w in enumerate(words) if PLANE_OF.get(w) == plane]
    return bool(hits) and all(i + 1 < len(words) and words[i + 1] in ANATOMY_NEXT for i in hits)


def plane_share(catalog: str, source: str = "roco", exclude_non_english: bool = False) -> dict:
    """Counts of plane facts (and rows = 3 x facts) and how many are anatomical."""
    con = duckdb.connect(catalog, read_only=True)
    try:
        rows = con.execute(
            "SELECT i.image_id, i.plane, t.text FROM images i JOIN texts t "
            "ON t.source = i.source AND t.image_id = i.image_id AND t.field = 'caption' "
            "WHERE i.source = ? AND i.plane IS NOT NULL "
            + (
                "AND i.image_id NOT IN (SELECT item FROM ingest_issues WHERE source = ? "
                "AND reason = 'non_english_caption')"
                if exclude_non_english
                else "AND ? IS NOT NULL"
            ),
            [source, source],
        ).fetchall()
    finally:
        con.close()
    facts = [(iid, p, t) for iid, p, t in rows if p in ASKED]
    bad = [(iid, p, t) for iid, p, t in facts if anatomical(t, p)]
    return {
        "facts": len(facts),
        "rows": 3 * len(facts),
        "anatomical_facts": len(bad),
        "anatomical_rows": 3 * len(bad),
        "share": len(bad) / len(facts) if facts else 0.0,
        "examples": [f"{iid} [{p}] {t[:120]}" for iid, p, t in bad[:10]],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("catalog")
    ap.add_argument("--source", default="roco")
    ap.add_argument("--exclude-non-english", action="store_true")
    ap.add_argument("--examples", action="store_true")
    a = ap.parse_args()
    r = plane_share(a.catalog, a.source, a.exclude_non_english)
    print(
        f"{a.source}: {r['rows']} PLANE rows ({r['facts']} facts), {r['anatomical_rows']} with "
        f"the plane word in an anatomical name: {r['share']:.2%}"
    )
    if a.examples:
        print("\n".join(r["examples"]))


if __name__ == "__main__":
    main()
