"""Analytic checks of the rules: the Bass diffusion limit (:mod:`.bass`)."""
