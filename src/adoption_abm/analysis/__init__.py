"""Analysis over many runs: policy comparisons on common random numbers (:mod:`.compare`) and
their reports (:mod:`.report`); which effect prior decides an answer
(:mod:`.prior_sensitivity`, reported by :mod:`.prior_report`)."""
