# tools/: see its files
