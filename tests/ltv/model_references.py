"""Reference figures of the models added to the registry, with their sources.

All from the shared data README of this project (``data/external/README.md`` lists the bundled copies).
"""

# MBG/NBD (Batislam, Denizel & Filiztekin 2007) maximum likelihood on the CDNOW sample summary of
# tests/reference/cdnow.py (39 calibration weeks, same-day purchases merged), recomputed with an exact optimiser;
# agrees with the lifetimes package's documented ModifiedBetaGeoFitter fit.
MBGNBD = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
MBGNBD_LL = -9582.1

# BG/BB (Fader, Hardie & Shang 2010) maximum likelihood on the bundled donations data (11,104 supporters, 6
# annual opportunities), as published and recomputed for the shared data README.
BGBB = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
BGBB_LL = -33225.6

# sBG (Fader & Hardie 2007, "How to project customer retention") maximum likelihood on years 1-7 of the two
# cohorts of 1,000 customers (bundled retention data), as published and recomputed for the shared data README.
SBG = {"regular": {"alpha": 0.704, "beta": 1.182}, "high_end": {"alpha": 0.668, "beta": 3.806}}
SBG_LL = {"regular": -1680.3, "high_end": -1611.2}
