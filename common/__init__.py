"""The knowledge base library: every rule of the product lives in this package."""
