# etc/: see its files
