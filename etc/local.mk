# etc/: web server snippets, configuration samples, systemd units.
#
# The nginx snippets are used as shipped (also by the integration tests) and are replaced on
# upgrade, so they go to $(pkgdatadir)/nginx. Samples go to $(sysconfdir)/napalmsky as *.sample,
# never over an administrator's files. Files with paths in them are generated from *.in here,
# with the paths fully expanded (configure would leave ${prefix} in them).

nginxsnippetsdir = $(pkgdatadir)/nginx
dist_nginxsnippets_DATA = etc/nginx/napalmsky-http.conf etc/nginx/napalmsky-locations.conf

samplesdir = $(sysconfdir)/napalmsky
samples_DATA = etc/napalmsky.conf.sample
nginxsamplesdir = $(sysconfdir)/napalmsky/nginx
nginxsamples_DATA = etc/nginx/napalmsky.conf.sample
apachesamplesdir = $(sysconfdir)/napalmsky/apache
apachesamples_DATA = etc/apache/napalmsky.conf.sample

ETC_UNITS = \
	etc/systemd/napalmsky-api.service \
	etc/systemd/napalmsky-gateway@.service \
	etc/systemd/napalmsky-migrate.service
ETC_GENERATED = $(samples_DATA) $(nginxsamples_DATA) $(apachesamples_DATA) $(ETC_UNITS) \
	etc/sysusers.d/napalmsky.conf

if HAVE_SYSTEMD
systemdsystemunit_DATA = $(ETC_UNITS)
sysusersdir = $(prefix)/lib/sysusers.d
sysusers_DATA = etc/sysusers.d/napalmsky.conf
endif

EXTRA_DIST += \
	etc/napalmsky.conf.sample.in \
	etc/nginx/napalmsky.conf.sample.in \
	etc/apache/napalmsky.conf.sample.in \
	etc/systemd/napalmsky-api.service.in \
	etc/systemd/napalmsky-gateway@.service.in \
	etc/systemd/napalmsky-migrate.service.in \
	etc/napalmsky.sysusers
CLEANFILES += $(ETC_GENERATED)

etc_edit = $(SED) -e 's|@bindir[@]|$(bindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@pkgdatadir[@]|$(pkgdatadir)|g'
etc_generate = $(AM_V_GEN)$(MKDIR_P) $(@D) && $(etc_edit) $(srcdir)/$@.in >$@.tmp && mv -f $@.tmp $@

# Explicit rules: pattern rules are not portable make (automake -Wall refuses them).
etc/napalmsky.conf.sample: etc/napalmsky.conf.sample.in Makefile
	$(etc_generate)
etc/nginx/napalmsky.conf.sample: etc/nginx/napalmsky.conf.sample.in Makefile
	$(etc_generate)
etc/apache/napalmsky.conf.sample: etc/apache/napalmsky.conf.sample.in Makefile
	$(etc_generate)
etc/systemd/napalmsky-api.service: etc/systemd/napalmsky-api.service.in Makefile
	$(etc_generate)
etc/systemd/napalmsky-gateway@.service: etc/systemd/napalmsky-gateway@.service.in Makefile
	$(etc_generate)
etc/systemd/napalmsky-migrate.service: etc/systemd/napalmsky-migrate.service.in Makefile
	$(etc_generate)
# sysusers.d wants a *.conf name.
etc/sysusers.d/napalmsky.conf: etc/napalmsky.sysusers
	$(AM_V_GEN)$(MKDIR_P) $(@D) && cp $(srcdir)/etc/napalmsky.sysusers $@
