"""The chunk store: the chunk model, the guarded Chroma connection, and a typed store per companion
collection.

Chroma is the source of truth for every chunk; nothing above this room talks to it directly.
"""
