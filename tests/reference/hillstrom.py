"""Reference figures for the Hillstrom (MineThatData, 2008) e-mail experiment, all 64,000 rows.

Group means and Welch 95% intervals of the difference in means, as listed in the shared data README of
this project (recomputed from the bundled file). Rounding is that of the listing.
"""

ARMS = {
    "No E-Mail": {"n": 21306, "visit": 0.10617, "conversion": 0.005726, "spend": 0.6528},
    "Mens E-Mail": {"n": 21307, "visit": 0.18276, "conversion": 0.012531, "spend": 1.4226},
    "Womens E-Mail": {"n": 21387, "visit": 0.15140, "conversion": 0.008837, "spend": 1.0772},
}
CONTROL = "No E-Mail"
# metric -> arm -> (lift, ci_low, ci_high)
LIFTS = {
    "visit": {"Mens E-Mail": (0.0766, 0.0700, 0.0832), "Womens E-Mail": (0.0452, 0.0389, 0.0516)},
    "spend": {"Mens E-Mail": (0.770, 0.485, 1.055), "Womens E-Mail": (0.424, 0.169, 0.680)},
}
SRM_P = 0.90
# Womens e-mail visit lift by past womens purchase (womens = 1: 35,182 customers; womens = 0: 28,818).
WOMENS_VISIT_LIFT_BY_WOMENS = {1: 0.073, 0: 0.011}
WOMENS_GROUP_SIZES = {1: 35182, 0: 28818}
