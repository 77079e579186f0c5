/* passwd: to be written */
