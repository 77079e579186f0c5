/* clock: to be written */
