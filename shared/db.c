/* db: to be written */
