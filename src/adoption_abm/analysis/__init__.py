"""Analysis over many runs: policy comparisons on common random numbers (:mod:`.compare`) and
their reports (:mod:`.report`)."""
