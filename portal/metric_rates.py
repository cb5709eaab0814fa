"""The rate rules, defined by the `Rate` rows only: a rate is numerator / denominator of
metric terms (a `per_week` rate scales its numerator to a week of reported days), and its
status against the rate's benchmark band and failure line. Pure functions on frames and
values; the metrics engine (portal.metric_engine) supplies the terms."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.playbook import Rate


def apply_rates(terms: pd.DataFrame, rates: list[Rate]) -> pd.DataFrame:
    """A column per rate code whose terms `terms` has: numerator / denominator (NaN when the
    denominator is 0 or unknown), defined by the Rate rows only."""
    out = pd.DataFrame(index=terms.index)
    for rate in rates:
        if rate.numerator not in terms or rate.denominator not in terms:
            continue  # e.g. per-staff totals have no branch snapshots: no usage rate per person
        num = terms[rate.numerator].astype("float64")
        if rate.per_week:
            num = num / terms["days"].where(terms["days"] > 0) * 7 if "days" in terms else np.nan
        den = terms[rate.denominator].astype("float64")
        out[rate.code] = num / den.where(den > 0)
    return out


def rate_status(value: float | None, rate: Rate) -> str | None:
    """fail (< fail_below) · low (< benchmark) · ok · high (> benchmark ceiling) · None."""
    if value is None or pd.isna(value):
        return None
    if rate.fail_below is not None and value < rate.fail_below:
        return "fail"
    if rate.benchmark_low is not None and value < rate.benchmark_low:
        return "low"
    if rate.benchmark_high is not None and value > rate.benchmark_high:
        return "high"
    return "ok"
