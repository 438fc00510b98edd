"""Quality: the score model, the one writer of quality fields, feedback and reviews, decay, the review queue.

Chroma is the only home of a quality score; everything here computes it from votes and timestamps.
"""
