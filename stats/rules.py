"""The definitions behind every figure, in one place (README.md, "Statistics and spike detection").

All figures are per cohort: the complaints *opened* (Case.created_at, local date) in the period.
"""

from django.conf import settings

# Durations are whole minutes (floor). Percentiles interpolate linearly between the two nearest
# ranks, exactly as PostgreSQL's percentile_cont does: position = p * (n - 1), 0-based.
PERCENTILES = {"median": (1, 2), "p90": (9, 10)}  # p as a fraction (numerator, denominator)


def min_sample() -> int:
    """Rates and percentiles over fewer cases than this are withheld (Alaveteli's rankings do so)."""
    return int(getattr(settings, "KAMENG_STATS_MIN_SAMPLE", 10))


def scope() -> str:
    """"organization": each organization sees figures over its own cases; "national": over all."""
    return getattr(settings, "KAMENG_STATS_SCOPE", "organization")


# Spike detection (stats/spikes.py). The window is the last 24 h; the baseline the 28 preceding
# 24 h windows of the same platform. A spike: count >= SPIKE_MIN_COUNT and
# count > mean + SPIKE_SIGMAS * max(stddev, sqrt(mean), 1)   (Poisson-style: sqrt(mean) is the
# standard deviation of a Poisson count, the larger empirical one guards over-dispersed platforms).
def spike_settings() -> dict:
    return {
        "baseline_days": int(getattr(settings, "KAMENG_SPIKE_BASELINE_DAYS", 28)),
        "min_count": int(getattr(settings, "KAMENG_SPIKE_MIN_COUNT", 10)),
        "sigmas": float(getattr(settings, "KAMENG_SPIKE_SIGMAS", 3.0)),
    }
