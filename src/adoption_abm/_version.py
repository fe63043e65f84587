"""The package's version, in one place: pyproject.toml reads it (``[tool.setuptools.dynamic]``),
``adoption_abm.__version__`` re-exports it, and ``CITATION.cff`` repeats it (a test keeps them
equal). Read from the source, not from installed metadata, so an editable install never reports
a stale version after a bump."""

__version__ = "0.1.0"
