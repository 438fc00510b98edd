"""Search: keyword index, dense and keyword fusion, ranking signals, filters, access counting, the JSON
API."""
