"""Where pages come from: Confluence's REST API, or a folder of pages in storage format."""
