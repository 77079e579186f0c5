/* err: to be written */
