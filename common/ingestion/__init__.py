"""Ingestion: pages to chunks in Chroma (parse, chunk, name, diff, embed, enrich, write) and the sync that
keeps Chroma in step with a source.
"""
