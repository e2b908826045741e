"""The definitions behind every figure, in one place (README.md, "Statistics and spike detection").

All figures are per cohort: the complaints *opened* (Case.created_at, local date) in the period.
"""

from django.conf import settings

# Durations are whole minutes (floor). Percentiles interpolate linearly between the two nearest
# ranks, exactly as PostgreSQL's percentile_cont does: position = p * (n - 1), 0-based.
PERCENTILES = {"median": (1, 2), "p90": (9, 10)}  # p as a fraction (numerator, denominator)

# Fixed duration buckets (lower bounds, whole minutes) of the mergeable histograms in the day and month
# summaries (stats_daysummary, stats_monthsummary): finer where answers and resolutions usually fall
# (hours to a month), coarser beyond. They only *locate* the rank of a median or p90 over any period;
# the exact value is then read from the case facts inside that one bucket, so the figures stay exact
# (percentile_cont) and the buckets change only the cost. Changing this table needs a migration of the
# summary columns and a rebuild.
HOUR, DAY = 60, 1440
DURATION_BUCKETS = (
    0, 5, 10, 15, 20, 30, 45, HOUR, 90, 2 * HOUR, 150, 3 * HOUR, 4 * HOUR, 5 * HOUR, 6 * HOUR, 8 * HOUR,
    10 * HOUR, 12 * HOUR, 16 * HOUR, 20 * HOUR, DAY,
    *(DAY + 6 * HOUR * i for i in range(1, 9)),            # every 6 hours up to 3 days
    *(3 * DAY + 12 * HOUR * i for i in range(1, 9)),       # every 12 hours up to 7 days
    *(7 * DAY + DAY * i for i in range(1, 9)),             # every day up to 15 days
    *(15 * DAY + 2 * DAY * i for i in range(1, 9)),        # every 2 days up to 31 days
    35 * DAY, 40 * DAY, 45 * DAY, 60 * DAY, 90 * DAY, 120 * DAY, 180 * DAY, 365 * DAY,
)


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
