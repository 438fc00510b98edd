"""`kb`, the command line: one module per command group, each parsing flags, calling `common` and printing."""
