"""Published reference figures for the CDNOW sample (2,357 customers), with their sources.

Protocol: calibration = 39 weeks from 1997-01-01 (ends 1997-09-30), holdout = the next 39 weeks
(ends 1998-06-30), unit = weeks, same-day purchases merged into one transaction.
Figures as listed in the shared data README of this project (recomputed from the bundled files).
"""

# Data facts.
CUSTOMERS = 2357
REPEAT_TRANSACTIONS = 2457
REPEATERS = 946

# BG/NBD maximum likelihood: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way",
# Marketing Science 24(2), section 5.
BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
BGNBD_LL = -9582.4

# Pareto/NBD maximum likelihood: Fader, Hardie & Lee (2005), "A Note on Implementing the Pareto/NBD Model
# in MATLAB" (Hardie's note), on the same calibration data.
PARETO_NBD = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
PARETO_NBD_LL = -9595.0

# Gamma-Gamma on the 946 repeaters, spend = mean repeat-transaction value: Fader, Hardie & Lee (2005b),
# "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis", JMR 42(4); Hardie's Gamma-Gamma note.
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}
GAMMA_GAMMA_LL = -4055.9
