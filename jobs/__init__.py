"""Cloud Run job entry points: `python -m jobs.<name>`."""
