"""HTTP entry points for functions-framework; each only translates and calls `common`."""
