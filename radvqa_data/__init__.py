"""radvqa data: sources -> catalog (DuckDB) -> entities -> synth -> filter -> audit -> shards
(Parquet).
"""

__version__ = "0.1.0"
