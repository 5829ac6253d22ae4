"""Project-structure rules checked on dbt's manifest.json (the conventions dbt-project-evaluator checks).

    python -m project_checks.structure target/manifest.json

Rules:
- every model, seed and source table has a description;
- every model has a primary-key test: `unique` and `not_null` on one column, or `unique_combination_of_columns`
  (a model whose grain has no key says why in `meta: {primary_key_exempt: "..."}`);
- only staging models call source();
- model names carry their layer's prefix: staging `stg_`/`base_`, intermediate `int_`, marts none of those;
- no model references a model of a later layer (staging < intermediate < marts).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

LAYERS = ("staging", "intermediate", "marts")
PREFIXES = {"staging": ("stg_", "base_"), "intermediate": ("int_",), "marts": ()}
FOREIGN_PREFIXES = ("stg_", "base_", "int_")


def layer_of(node: dict) -> str | None:
    parts = Path(node["original_file_path"]).parts
    if len(parts) > 1 and parts[0] == "models" and parts[1] in LAYERS:
        return parts[1]
    return None


def _primary_key_tests(nodes: dict) -> tuple[dict, dict, set]:
    unique_cols: dict[str, set] = defaultdict(set)
    not_null_cols: dict[str, set] = defaultdict(set)
    combination: set[str] = set()
    for n in nodes.values():
        if n["resource_type"] != "test" or not n.get("test_metadata"):
            continue
        name = n["test_metadata"]["name"]
        attached = n.get("attached_node") or next(iter(n["depends_on"]["nodes"]), None)
        column = n.get("column_name")
        if name == "unique" and column:
            unique_cols[attached].add(column)
        elif name == "not_null" and column:
            not_null_cols[attached].add(column)
        elif name == "unique_combination_of_columns":
            combination.add(attached)
    return unique_cols, not_null_cols, combination


def structure_violations(manifest: dict) -> list[str]:
    nodes = manifest["nodes"]
    models = {uid: n for uid, n in nodes.items() if n["resource_type"] == "model"}
    problems: list[str] = []

    for n in nodes.values():
        if n["resource_type"] in ("model", "seed") and not n.get("description", "").strip():
            problems.append(f"{n['name']}: no description")
    for s in manifest["sources"].values():
        if not s.get("description", "").strip():
            problems.append(f"source {s['source_name']}.{s['name']}: no description")

    unique_cols, not_null_cols, combination = _primary_key_tests(nodes)
    for uid, n in models.items():
        has_key = bool(unique_cols[uid] & not_null_cols[uid]) or uid in combination
        if not has_key and not n.get("meta", {}).get("primary_key_exempt"):
            problems.append(f"{n['name']}: no primary-key test (unique + not_null, or unique_combination_of_columns)")

    for n in models.values():
        layer = layer_of(n)
        sources = [d for d in n["depends_on"]["nodes"] if d.startswith("source.")]
        if sources and layer != "staging":
            problems.append(f"{n['name']}: calls source() outside staging ({', '.join(sources)})")
        if layer is None:
            problems.append(f"{n['name']}: not under models/staging, models/intermediate or models/marts")
            continue
        prefixes = PREFIXES[layer]
        if prefixes and not n["name"].startswith(prefixes):
            problems.append(f"{n['name']}: {layer} models are named {' or '.join(p + '*' for p in prefixes)}")
        if not prefixes and n["name"].startswith(FOREIGN_PREFIXES):
            problems.append(f"{n['name']}: a mart must not carry a staging/intermediate prefix")
        for dep in n["depends_on"]["nodes"]:
            dep_layer = layer_of(models[dep]) if dep in models else None
            if dep_layer and LAYERS.index(dep_layer) > LAYERS.index(layer):
                later = models[dep]["name"]
                problems.append(f"{n['name']} ({layer}) references {later} of a later layer ({dep_layer})")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "target/manifest.json")
    problems = structure_violations(json.loads(path.read_text()))
    for p in problems:
        print(p)
    print(f"{len(problems)} structure violation(s) in {path}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
