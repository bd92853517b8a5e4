"""Durable results: one JSON record per measured point, plus one manifest per run."""
