/* kv: to be written */
