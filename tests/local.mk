# tests/: unit tests (tests/unit/local.mk), integration scripts that run the real servers
# (each starts its own stack with scripts/lib/stack.sh in a temp dir), and the fuzz runner.
include tests/unit/local.mk

INTEGRATION_TESTS = \
	tests/integration/health.sh \
	tests/integration/guards.sh tests/integration/cache_limits.sh \
	tests/integration/media.sh \
	tests/integration/room_lists.sh \
	tests/integration/queue_coherence.sh \
	tests/integration/auth_user.sh \
	tests/integration/referral.sh tests/integration/reports.sh tests/integration/admin.sh \
	tests/integration/payments.sh tests/integration/turn.sh \
	tests/integration/payments_stripe_lib.sh tests/integration/codes_concurrency.sh tests/integration/admin_matrix.sh \
	tests/integration/turn_coturn.sh \
	tests/integration/service_routes.sh \
	tests/integration/gateway.sh \
	tests/integration/gateway_limits.sh \
	tests/integration/realtime.sh \
	tests/integration/calls.sh \
	tests/integration/gateway_failover.sh \
	tests/integration/queue_feed.sh \
	tests/integration/cgi_mode.sh \
	tests/integration/supervisor.sh \
	tests/integration/apache.sh \
	tests/integration/loadgen.sh
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) \
	tests/integration/lib.sh \
	tests/integration/stripe_standin.js \
	tests/integration/node/package.json \
	tests/integration/node/package-lock.json \
	tests/integration/node/gateway_check.js \
	tests/integration/node/limits_check.js \
	tests/integration/node/realtime_check.js \
	tests/integration/node/calls_check.js \
	tests/integration/node/queue_feed.js \
	tests/integration/node/queue_coherence.js \
	tests/integration/node/failover_check.js \
	tests/integration/node/events.js \
	tests/integration/node/proxy_check.js \
	tests/fuzz/run.sh \
	tests/fuzz/corpus

# scripts/dev test runs every unit test under valgrind; this tells it which ones (one line,
# prefixed, so that make's own chatter, e.g. a regeneration, cannot be mistaken for a test).
print-unit-tests:
	@echo "unit-tests: $(UNIT_TESTS)"
.PHONY: print-unit-tests
