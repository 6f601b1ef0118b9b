"""Reference figures of the models added to the registry, with their sources.

All from the shared data README of this project (``data/external/README.md`` lists the bundled copies).
"""

# MBG/NBD (Batislam, Denizel & Filiztekin 2007) maximum likelihood on the CDNOW sample summary of
# tests/reference/cdnow.py (39 calibration weeks, same-day purchases merged), recomputed with an exact optimiser;
# agrees with the lifetimes package's documented ModifiedBetaGeoFitter fit.
MBGNBD = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
MBGNBD_LL = -9582.1
