"""Job configuration: defaults, overrides from a JSON file and the command line, validation with clear errors."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODELS = (
    "global_popularity",
    "recent_popularity",
    "category_popularity",
    "segment_popularity",
    "co_purchase",
    "als_implicit",
    "als_explicit",
    "als_category_blend",
)


class ConfigError(ValueError):
    """A configuration value the job cannot run with; the message names the option."""


@dataclass
class AlsGrid:
    rank: list[int] = field(default_factory=lambda: [16, 32])
    reg_param: list[float] = field(default_factory=lambda: [0.1])
    alpha: list[float] = field(default_factory=lambda: [10.0, 40.0])
    max_iter: list[int] = field(default_factory=lambda: [10])


@dataclass
class JobConfig:
    # where dbt wrote the marts, and where the job publishes (both in the same catalog)
    schema: str = "olist"
    # columns of customer_product_interactions the served ALS model trains on
    confidence_column: str = "implicit_confidence"
    rating_column: str = "explicit_rating"
    # interaction weights, as dbt vars interaction_frequency_weight / interaction_monetary_weight: the job
    # recomputes confidence from the training period at each cut-off with the same formula
    frequency_weight: float = 1.0
    monetary_weight: float = 0.25
    # evaluation protocol: the models compared (default all; ALS is tuned and fitted only when one needs it)
    models: list[str] = field(default_factory=lambda: list(MODELS))
    ks: list[int] = field(default_factory=lambda: [5, 10, 20])
    cutoffs: list[str] = field(default_factory=list)  # ISO dates; empty = derived from the data
    n_cutoffs: int = 3
    test_window_days: int = 60
    bootstrap_samples: int = 500
    recent_half_life_days: float = 30.0
    # recompute every mean with pyspark's RankingEvaluator and fail on a difference (slow: a debugging aid)
    check_with_ranking_evaluator: bool = False
    selection_metric: str = "hit_rate"
    selection_k: int = 10
    # ALS
    implicit_grid: AlsGrid = field(default_factory=AlsGrid)
    explicit_grid: AlsGrid = field(default_factory=lambda: AlsGrid(rank=[16], reg_param=[0.1, 0.5], alpha=[1.0]))
    seed: int = 42
    checkpoint_dir: str = ""  # empty = <warehouse>/checkpoints (use an HDFS/S3 path on a cluster)
    checkpoint_interval: int = 10
    als_blocks: int = 0  # user and item blocks; 0 = Spark's default parallelism (the cores in local mode)
    blend_weight: float = 0.5  # share of the ALS rank in the ALS + category-popularity blend
    # serving
    top_k: int = 10
    top_n_per_segment: int = 20
    keep_previous_runs: int = 1
    # testing aid: raise after this stage ("read", "evaluate", "train", "recommend", "write") to prove atomicity
    fail_after_stage: str = ""

    @property
    def marts_schema(self) -> str:
        return f"{self.schema}_marts"

    @property
    def reference_schema(self) -> str:
        return f"{self.schema}_reference"

    @property
    def runs_schema(self) -> str:
        return f"{self.schema}_recommendation_runs"

    def validate(self) -> JobConfig:
        if not self.ks or any(k <= 0 for k in self.ks):
            raise ConfigError(f"ks must be positive integers, got {self.ks}")
        unknown = [m for m in self.models if m not in MODELS]
        if not self.models or unknown:
            raise ConfigError(f"models must be a non-empty subset of {', '.join(MODELS)}; unknown: {unknown}")
        self.models = [m for m in MODELS if m in self.models]
        if self.top_k <= 0:
            raise ConfigError(f"top_k must be > 0, got {self.top_k}")
        if self.top_n_per_segment <= 0:
            raise ConfigError(f"top_n_per_segment must be > 0, got {self.top_n_per_segment}")
        if self.selection_k not in self.ks:
            raise ConfigError(f"selection_k={self.selection_k} must be one of ks={self.ks}")
        if self.selection_metric not in ("precision", "recall", "ndcg", "map", "hit_rate"):
            raise ConfigError(
                f"selection_metric must be precision, recall, ndcg, map or hit_rate, got {self.selection_metric}"
            )
        if self.test_window_days <= 0:
            raise ConfigError(f"test_window_days must be > 0, got {self.test_window_days}")
        if not self.cutoffs and self.n_cutoffs < 1:
            raise ConfigError(f"n_cutoffs must be >= 1, got {self.n_cutoffs}")
        if not 0.0 <= self.blend_weight <= 1.0:
            raise ConfigError(f"blend_weight must be within [0, 1], got {self.blend_weight}")
        for name, grid in (("implicit_grid", self.implicit_grid), ("explicit_grid", self.explicit_grid)):
            if not (grid.rank and grid.reg_param and grid.alpha and grid.max_iter):
                raise ConfigError(f"{name} needs at least one value for rank, reg_param, alpha and max_iter")
            if any(r <= 0 for r in grid.rank) or any(i <= 0 for i in grid.max_iter):
                raise ConfigError(f"{name}: rank and max_iter must be > 0")
        stages = ("", "read", "evaluate", "train", "recommend", "write")
        if self.fail_after_stage not in stages:
            raise ConfigError(f"fail_after_stage must be one of {', '.join(stages[1:])}, got {self.fail_after_stage!r}")
        for c in self.cutoffs:
            try:
                import datetime as _dt

                _dt.date.fromisoformat(c)
            except ValueError as exc:
                raise ConfigError(f"cutoffs must be ISO dates (YYYY-MM-DD), got {c!r}") from exc
        return self

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


def _merge(config: JobConfig, values: dict[str, Any]) -> JobConfig:
    known = {f.name for f in dataclasses.fields(JobConfig)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"unknown configuration option(s): {', '.join(sorted(unknown))}")
    for key, value in values.items():
        if key in ("implicit_grid", "explicit_grid"):
            grid_fields = {f.name for f in dataclasses.fields(AlsGrid)}
            bad = set(value) - grid_fields
            if bad:
                raise ConfigError(f"unknown {key} option(s): {', '.join(sorted(bad))}")
            value = AlsGrid(**{**dataclasses.asdict(getattr(config, key)), **value})
        setattr(config, key, value)
    return config


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> JobConfig:
    config = JobConfig()
    if path:
        p = Path(path)
        if not p.exists():
            raise ConfigError(f"configuration file not found: {p}")
        try:
            config = _merge(config, json.loads(p.read_text()))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"configuration file {p} is not valid JSON: {exc}") from exc
    config = _merge(config, {k: v for k, v in (overrides or {}).items() if v is not None})
    return config.validate()


class InjectedFailure(RuntimeError):
    """Raised where fail_after_stage says, to prove a failed run leaves the published tables as they were."""
