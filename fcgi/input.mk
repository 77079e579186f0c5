# fcgi/input.mk: request-body parsers (multipart, field validation)
