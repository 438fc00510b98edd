"""Evaluation: retrieval metrics, and scoring the product's retrieval modes on BEIR-format collections."""
