"""Olist recommender: Spark helpers and the ALS job (read -> features -> train -> evaluate -> write)."""
