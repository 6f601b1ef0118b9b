"""Prior-predictive check: observed statistics and the default priors' implied range on CDNOW."""

from __future__ import annotations

import numpy as np
import pytest

from ltvlab.errors import LtvlabError
from ltvlab.features import columns as col
from ltvlab.ltv import BGNBD, GammaGamma, ParetoNBD, prior_predictive_summary


@pytest.mark.parametrize("spec", [BGNBD(), ParetoNBD(), GammaGamma()])
def test_default_priors_cover_cdnow(cdnow_sample_summary, spec):
    pp = prior_predictive_summary(spec, cdnow_sample_summary, draws=200, seed=1)
    table = pp.table.set_index("statistic")
    x = cdnow_sample_summary[col.X].to_numpy(float)
    if spec.kind_name == "gamma_gamma":
        assert table.loc["mean_monetary", "observed"] == pytest.approx(
            cdnow_sample_summary.loc[x > 0, col.MONETARY].mean()
        )
    else:
        assert table.loc["p_x_zero", "observed"] == pytest.approx(np.mean(x == 0))
        assert table.loc["mean_x", "observed"] == pytest.approx(x.mean())
    # weakly informative: every observed statistic lies inside the central 90% of the prior predictive
    assert ((table["q05"] <= table["observed"]) & (table["observed"] <= table["q95"])).all()
    assert len(pp.draws) == 200


def test_flat_priors_have_no_prior_predictive(cdnow_sample_summary):
    with pytest.raises(LtvlabError, match="improper"):
        prior_predictive_summary(BGNBD(priors="flat"), cdnow_sample_summary)
