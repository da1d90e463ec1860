"""Pure business rules: no I/O, no framework imports (ARCHITECTURE.md section 1)."""
