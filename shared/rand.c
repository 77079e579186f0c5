/* rand: to be written */
