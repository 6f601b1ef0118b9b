"""Column names that are part of ltvlab's API, declared once.

Notation follows Fader, Hardie & Lee: ``x`` repeat transactions in the calibration period, ``t_x`` time of
the last repeat transaction, ``T`` time from first purchase to the end of calibration, all in the summary's
time unit (days or weeks, chosen explicitly), measured from the customer's first purchase.
"""

from __future__ import annotations

# Transactions (one row per purchase; extra columns such as channel or region are carried along).
CUSTOMER_ID = "customer_id"
DATE = "date"
AMOUNT = "amount"
QUANTITY = "quantity"

# Customer summary (one row per customer).
FIRST_PURCHASE = "first_purchase"  # date of the first purchase
FIRST_AMOUNT = "first_amount"  # value of the first purchase (same-day purchases merged by default)
X = "x"  # repeat transactions in calibration
T_X = "t_x"  # time of the last repeat transaction since the first purchase (0 when x == 0)
T = "T"  # time from the first purchase to the end of calibration
MONETARY = "monetary"  # mean value of the repeat transactions in calibration (0 when x == 0)
X_HOLDOUT = "x_holdout"  # transactions in the holdout period
SPEND_HOLDOUT = "spend_holdout"  # total spend in the holdout period
DURATION_HOLDOUT = "duration_holdout"  # length of the holdout period in the summary's time unit

# Experiments (one row per randomised unit).
UNIT_ID = "unit_id"
ARM = "arm"

SUMMARY_COLUMNS = (CUSTOMER_ID, FIRST_PURCHASE, FIRST_AMOUNT, X, T_X, T, MONETARY)
HOLDOUT_COLUMNS = (X_HOLDOUT, SPEND_HOLDOUT, DURATION_HOLDOUT)
