"""The configuration of a robustness analysis: which modelling choices are uncertain and over
which ranges (spec/scoring.md, "robust"). It is data — ``default.yaml`` next to this module
holds the defaults, a bureau may pass its own file — and the validated configuration is
recorded on ``RobustnessRun.parameters`` so an analysis can be repeated exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kechuang.kit import rules
from kechuang.kit.errors import InvalidInput
from kechuang.scoring.schemas import TreatSpec
from kechuang.scoring.system import list_rules

DEFAULT_FILE = Path(__file__).parent / "default.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeightsFactor(_Strict):
    enabled: bool = True
    #: each weight is multiplied by U(1 − noise, 1 + noise) …
    noise: float = Field(default=0.25, ge=0, lt=1)
    #: … in ``sets`` alternative weight sets, drawn once; the factor picks one per replication
    sets: int = Field(default=100, ge=1, le=10_000)


NormMethod = Literal["minmax", "zscore", "percentile"]
AggMethod = Literal["arithmetic_mean", "geometric_mean"]


class NormalisationFactor(_Strict):
    enabled: bool = True
    methods: list[NormMethod] = Field(default=["minmax", "zscore", "percentile"], min_length=1)


class AggregationFactor(_Strict):
    enabled: bool = True
    methods: list[AggMethod] = Field(default=["arithmetic_mean", "geometric_mean"],
                                     min_length=1)
    #: an alternative geometric mean raises children below this value to it (the JRC advice
    #: to normalise onto [1, 100] before a geometric mean); the nominal one keeps the
    #: engine's rule (a zero child makes the group zero)
    geometric_floor: float = Field(default=1.0, gt=0)


def _default_levels() -> list[TreatSpec]:
    return [TreatSpec(method="skew_kurt", winmax=w) for w in range(6)]


class WinsorisationFactor(_Strict):
    enabled: bool = True
    #: each level replaces the treatment of every indicator whose own treatment is not none
    levels: list[TreatSpec] = Field(default_factory=_default_levels, min_length=1)


class Rule(_Strict):
    """When an enterprise's place is "not robust" (docs/scoring/robustness.md)."""

    #: take cohort, cut-offs and tiers from the scoring run's own list parameters
    #: (``parameters.lists``) when it has them; the values below are the fallback
    use_run_lists: bool = True
    #: cohort column the lists are cut within (ScoreResult column), None = everyone
    cohort: str | None = "stage"
    #: cut-offs by share of the cohort (percentile) or by place (count)
    by: Literal["percentile", "count"] = "percentile"
    #: list cut-offs, best first; by default the scoring lists' (scoring/data/lists.yaml)
    cutoffs: list[float] = Field(
        default_factory=lambda: [t.upto for t in list_rules().tiers], min_length=1)
    tiers: list[str] = Field(
        default_factory=lambda: [t.code for t in list_rules().tiers], min_length=1)
    #: not robust when p95 − p05 of the overall rank exceeds this share of the ranked units
    max_width_share: float | None = Field(default=0.25, gt=0, le=1)

    @model_validator(mode="after")
    def _cutoffs(self) -> Rule:
        c = self.cutoffs
        if any(a >= b for a, b in zip(c, c[1:], strict=False)):
            raise ValueError("cutoffs 应严格递增")
        if self.by == "percentile" and any(not 0 < x <= 1 for x in c):
            raise ValueError("按比例切分时 cutoffs 应在 (0, 1] 内")
        if self.by == "count" and any(x < 1 or not float(x).is_integer() for x in c):
            raise ValueError("按名次切分时 cutoffs 应为正整数")
        if len(self.tiers) != len(c):
            raise ValueError("tiers 与 cutoffs 的个数应相同")
        return self


class SensitivityOptions(_Strict):
    resamples: int = Field(default=100, ge=10, le=10_000)
    confidence: float = Field(default=0.95, gt=0, lt=1)


class RobustnessConfig(_Strict):
    replications: int = Field(default=1000, ge=1, le=100_000)
    seed: int = Field(default=20240601, ge=0, lt=2**31)
    weights: WeightsFactor = WeightsFactor()
    normalisation: NormalisationFactor = NormalisationFactor()
    aggregation: AggregationFactor = AggregationFactor()
    winsorisation: WinsorisationFactor = WinsorisationFactor()
    rule: Rule = Rule()
    sensitivity: SensitivityOptions = SensitivityOptions()

    def recorded(self) -> dict[str, Any]:
        """The JSON form stored on ``RobustnessRun.parameters``."""
        return self.model_dump(mode="json")


#: the dated header every shipped rule file carries (kechuang.kit.rules.RuleHeader)
HEADER_KEYS = frozenset(rules.RuleHeader.model_fields)


def parse_config(data: Any, filename: str = "<config>") -> RobustnessConfig:
    """Validate a mapping; errors name the file, the line and the dotted key, in Chinese
    (the one rule loader, kechuang.kit.rules). A dated header (id, title, valid_from,
    source) is checked and set aside."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidInput(f"{filename}：配置应为一个映射（replications、weights 等键）",
                           f"{filename}: the configuration must be a mapping")
    header = {k: data[k] for k in data if k in HEADER_KEYS}
    if header:
        rules.validate(header, rules.RuleHeader, filename)
        body = rules.LineDict({k: v for k, v in data.items() if k not in HEADER_KEYS})
        body.line = getattr(data, "line", 1)
        body.key_lines = getattr(data, "key_lines", {})
        data = body
    return rules.validate(data, RobustnessConfig, filename)


def load_config(path: str | Path | None = None, **overrides: Any) -> RobustnessConfig:
    """The defaults (``default.yaml``), or a bureau's file, with ``overrides`` (e.g. from the
    command line) applied on top; ``None`` overrides are ignored."""
    text, name = rules.read_text(Path(path) if path is not None else DEFAULT_FILE)
    data = rules.parse_yaml(text, name)
    if isinstance(data, dict):
        data.update({k: v for k, v in overrides.items() if v is not None})
    return parse_config(data, name)
