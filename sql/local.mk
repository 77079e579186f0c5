# sql/: see its files
