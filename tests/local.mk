# tests/: see its files
