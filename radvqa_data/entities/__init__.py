"""Entities: lexicon + scispaCy pipeline over catalogued texts, stored in the catalog."""
