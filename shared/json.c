/* json: to be written */
