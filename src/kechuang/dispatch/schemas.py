"""Request bodies of the dispatch API."""

from __future__ import annotations

from pydantic import BaseModel, Field

from kechuang.dispatch.fit import FitWeights


class Weights(BaseModel):
    text: float = Field(1.0, ge=0)
    region_same: float = Field(0.3, ge=0)
    region_city: float = Field(0.1, ge=0)
    industry: float = Field(0.2, ge=0)
    min_text: float = Field(0.2, ge=0, le=1)
    max_candidates: int = Field(50, ge=0, le=10_000)


class RunRequest(BaseModel):
    region_code: str | None = Field(None, max_length=12)
    alternates: int = Field(3, ge=0, le=20)
    weights: Weights | None = None

    def fit_weights(self) -> FitWeights:
        return FitWeights(**self.weights.model_dump()) if self.weights else FitWeights()
