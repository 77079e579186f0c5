# sql/: the numbered schema migrations applied by "napalmsky-admin migrate" (MIGRATIONS_DIR,
# by default $(pkgdatadir)/sql). Files are applied in number order, each once; never edit one
# that has shipped: add the next number instead.
sqldir = $(pkgdatadir)/sql
dist_sql_DATA = \
	sql/001_users_sessions.sql \
	sql/002_calls.sql \
	sql/003_codes.sql \
	sql/004_moderation.sql \
	sql/005_payments.sql \
	sql/006_cooldowns_expiry_index.sql
