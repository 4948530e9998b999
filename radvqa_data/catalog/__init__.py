"""The DuckDB catalog of images, their texts, metadata, concepts and benchmark QA rows."""
