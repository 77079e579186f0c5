/* napalmsky-admin: operator command line (schema migrations, admin accounts, config check).
 * Configuration comes from --config FILE, $NAPALMSKY_CONFIG or the default file, then the
 * environment, exactly as for the daemons. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "admin.h"
#include "nsconfig.h"
#include "log.h"

#define ADMIN_ERR_MAX 512

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: %s [--config FILE] COMMAND [ARG...]\n"
	    "commands:\n"
	    "  migrate                  apply the pending SQL migrations of MIGRATIONS_DIR\n"
	    "  create-admin USER [PW]   create an admin (password from stdin when PW is omitted)\n"
	    "  passwd-admin USER [PW]   change an admin's password and end its sessions\n"
	    "  remove-admin USER        remove an admin and end its sessions (alias delete-admin)\n"
	    "  list-admins              list admin accounts\n"
	    "  grant-admin WHO          give the admin role to a user account (user id or email)\n"
	    "  revoke-admin WHO         take the admin role back\n"
	    "  check-config             print the effective configuration; exit 1 if invalid\n"
	    "  version                  print the version\n"
	    "options: --config FILE, --check-config, --version, --help\n", ADMIN_PROG);
}

struct admin_cmd {
	const char *name;
	int min_args, max_args;	/* positional arguments after the command */
};

static const struct admin_cmd admin_cmds[] = {
	{ "migrate", 0, 0 }, { "create-admin", 1, 2 }, { "passwd-admin", 1, 2 },
	{ "remove-admin", 1, 1 }, { "delete-admin", 1, 1 }, { "list-admins", 0, 0 },
	{ "grant-admin", 1, 1 }, { "revoke-admin", 1, 1 }, { "check-config", 0, 0 },
	{ "version", 0, 0 },
};

int
main(int argc, char **argv)
{
	static struct ns_config cfg;	/* several KiB: keep it off the stack */
	char err[ADMIN_ERR_MAX] = "";
	const char *path = NULL, *cmd = NULL, *arg = NULL, *arg2 = NULL;
	enum ns_log_level level;
	size_t i;
	int argi;

	for (argi = 1; argi < argc && argv[argi][0] == '-'; argi++) {
		if (strcmp(argv[argi], "--config") == 0) {
			if (argi + 1 == argc) {
				fprintf(stderr, "%s: --config needs a FILE\n", ADMIN_PROG);
				return 2;
			}
			path = argv[++argi];
		} else if (strncmp(argv[argi], "--config=", 9) == 0) {
			path = argv[argi] + 9;
		} else if (strcmp(argv[argi], "--check-config") == 0) {
			cmd = "check-config";
		} else if (strcmp(argv[argi], "--version") == 0) {
			cmd = "version";
		} else if (strcmp(argv[argi], "--help") == 0 || strcmp(argv[argi], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "%s: unknown option %s\n", ADMIN_PROG, argv[argi]);
			usage(stderr);
			return 2;
		}
	}
	if (cmd == NULL && argi < argc)
		cmd = argv[argi++];
	if (cmd == NULL) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof admin_cmds / sizeof admin_cmds[0]; i++)
		if (strcmp(cmd, admin_cmds[i].name) == 0)
			break;
	if (i == sizeof admin_cmds / sizeof admin_cmds[0] ||
	    argc - argi < admin_cmds[i].min_args || argc - argi > admin_cmds[i].max_args) {
		fprintf(stderr, "%s: bad command line\n", ADMIN_PROG);
		usage(stderr);
		return 2;
	}
	if (argc - argi >= 1)
		arg = argv[argi];
	if (argc - argi >= 2)
		arg2 = argv[argi + 1];

	if (strcmp(cmd, "version") == 0) {
		printf("%s %s\n", ADMIN_PROG, PACKAGE_VERSION);
		return 0;
	}
	ns_log_init(ADMIN_PROG, 1, NS_LOG_WARN);
	if (ns_config_load(&cfg, path, err, sizeof err) != NS_OK) {
		fprintf(stderr, "%s: invalid configuration: %s\n", ADMIN_PROG, err);
		return 1;
	}
	if (ns_log_level_parse(cfg.log_level, &level) == 0)
		ns_log_set_level(level);
	if (strcmp(cmd, "check-config") == 0) {
		ns_config_print(&cfg, stdout);
		return 0;
	}
	if (strcmp(cmd, "migrate") == 0)
		return admin_migrate(&cfg);
	if (strcmp(cmd, "create-admin") == 0)
		return admin_create(&cfg, arg, arg2);
	if (strcmp(cmd, "passwd-admin") == 0)
		return admin_passwd(&cfg, arg, arg2);
	if (strcmp(cmd, "remove-admin") == 0 || strcmp(cmd, "delete-admin") == 0)
		return admin_remove(&cfg, arg);
	if (strcmp(cmd, "list-admins") == 0)
		return admin_list(&cfg);
	if (strcmp(cmd, "grant-admin") == 0)
		return admin_set_role(&cfg, arg, "admin");
	return admin_set_role(&cfg, arg, "user");	/* revoke-admin */
}
