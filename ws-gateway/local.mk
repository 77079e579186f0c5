# ws-gateway/: see its files
