# fcgi/: see its files
