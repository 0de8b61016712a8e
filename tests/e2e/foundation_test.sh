#!/usr/bin/env bash
# Issue 2 end to end: reflection, health, authentication and scopes, tenant
# isolation, graceful SIGTERM. Real redis-server, real segmentd, buf curl.
source "$(dirname "$0")/harness.sh"

start_redis
start_segmentd

# Reflection lists every service.
set +e; OUT=$("$BUF" curl --protocol grpc --http2-prior-knowledge --list-services "http://127.0.0.1:$PORT" 2>&1); RC=$?; set -e
for service in AdminService ConfigService IngestService ClassificationService TargetingService \
               InsightsService WatchService; do
  check "reflection lists segmentd.v1.$service" out_has "^segmentd.v1.$service\$"
done
check "reflection lists health" out_has "^grpc.health.v1.Health\$"

# Health, overall and per service.
call "" grpc.health.v1.Health/Check '{}'
check "health: server SERVING" out_has '"status": "SERVING"'
call "" grpc.health.v1.Health/Check '{"service":"segmentd.v1.AdminService"}'
check "health: AdminService SERVING" out_has '"status": "SERVING"'
call "" grpc.health.v1.Health/Check '{"service":"no.such.Service"}'
check "health: unknown service NOT_FOUND" code_is not_found

# No key, a malformed key, an unknown key.
call "" segmentd.v1.AdminService/ListTenants '{}'
check "no key -> unauthenticated" code_is unauthenticated
call "not-a-key" segmentd.v1.AdminService/ListTenants '{}'
check "malformed key -> unauthenticated" code_is unauthenticated
call "sd_0123456789abcdef_$(printf 'a%.0s' $(seq 64))" segmentd.v1.AdminService/ListApiKeys '{"tenant_id":"acme"}'
check "unknown key -> unauthenticated" code_is unauthenticated

# The operator creates tenants and their first keys.
OP=$(operator_key)
call "$OP" segmentd.v1.AdminService/CreateTenant '{"tenant_id":"acme","display_name":"Acme"}'
check "operator creates tenant acme" ok
call "$OP" segmentd.v1.AdminService/CreateTenant '{"tenant_id":"acme"}'
check "duplicate tenant -> already_exists" code_is already_exists
call "$OP" segmentd.v1.AdminService/CreateTenant '{"tenant_id":"Bad Id"}'
check "bad tenant id -> invalid_argument naming tenant_id" code_is invalid_argument
check "  ...message names tenant_id" out_has "tenant_id"
call "$OP" segmentd.v1.AdminService/CreateTenant '{"tenant_id":"globex"}'
check "operator creates tenant globex" ok
call "$OP" segmentd.v1.AdminService/CreateApiKey '{"tenant_id":"acme","name":"acme admin","scopes":["SCOPE_ADMIN"]}'
check "operator creates acme admin key" ok
ACME_ADMIN=$(json secret)
call "$OP" segmentd.v1.AdminService/CreateApiKey '{"tenant_id":"globex","name":"globex admin","scopes":["SCOPE_ADMIN"]}'
GLOBEX_ADMIN=$(json secret)
call "$OP" segmentd.v1.AdminService/CreateApiKey '{"tenant_id":"acme","scopes":["SCOPE_OPERATOR"]}'
check "operator scope cannot be granted -> invalid_argument" code_is invalid_argument
call "$OP" segmentd.v1.AdminService/CreateApiKey '{"tenant_id":"nobody","scopes":["SCOPE_READ"]}'
check "key for a missing tenant -> not_found" code_is not_found

# A tenant admin manages its own keys, and only its own.
call "$ACME_ADMIN" segmentd.v1.AdminService/CreateApiKey '{"tenant_id":"acme","name":"reader","scopes":["SCOPE_READ"]}'
check "acme admin creates a read key" ok
ACME_READ=$(json secret)
ACME_READ_ID=$(json keyId)
call "$ACME_ADMIN" segmentd.v1.AdminService/ListApiKeys '{"tenant_id":"acme"}'
check "acme admin lists acme keys" ok
check "  ...the secret is never listed" bash -c "! printf '%s' '$OUT' | grep -q secret"
call "$ACME_ADMIN" segmentd.v1.AdminService/ListApiKeys '{"tenant_id":"globex"}'
check "acme admin cannot list globex keys -> permission_denied" code_is permission_denied
call "$GLOBEX_ADMIN" segmentd.v1.AdminService/RevokeApiKey "{\"tenant_id\":\"acme\",\"key_id\":\"$ACME_READ_ID\"}"
check "globex admin cannot revoke an acme key -> permission_denied" code_is permission_denied
call "$GLOBEX_ADMIN" segmentd.v1.AdminService/RevokeApiKey "{\"tenant_id\":\"globex\",\"key_id\":\"$ACME_READ_ID\"}"
check "acme key is invisible under globex -> not_found" code_is not_found
call "$ACME_ADMIN" segmentd.v1.AdminService/CreateTenant '{"tenant_id":"evil"}'
check "tenant admin cannot create tenants -> permission_denied" code_is permission_denied

# Scopes.
call "$ACME_READ" segmentd.v1.AdminService/ListApiKeys '{"tenant_id":"acme"}'
check "read key cannot manage keys -> permission_denied" code_is permission_denied
call "$OP" segmentd.v1.AdminService/ListTenants '{}'
check "operator lists tenants" out_has '"tenantId": "globex"'
# The operator's SCOPE_ADMIN pass is for tenants and keys: tenant data that
# an admin key guards (config) is refused it by name, as reads are.
call "$OP" segmentd.v1.ConfigService/UpdateConfig '{"config":{"frequent_buyer":{"min_orders":3}}}'
check "operator cannot update a config -> permission_denied" code_is permission_denied
check "  ...saying why" out_has "use a tenant API key"
call "$OP" segmentd.v1.AdminService/ListApiKeys '{"tenant_id":"nosuch"}'
check "operator lists the keys of an unknown tenant -> not_found" code_is not_found
call "$OP" segmentd.v1.ConfigService/ApplyPreset '{"preset":"PRESET_FASHION"}'
check "operator cannot apply a preset -> permission_denied" code_is permission_denied

# Revocation takes effect at once on this replica.
call "$ACME_ADMIN" segmentd.v1.AdminService/RevokeApiKey "{\"tenant_id\":\"acme\",\"key_id\":\"$ACME_READ_ID\"}"
check "acme admin revokes the read key" out_has revokedAt
call "$ACME_READ" segmentd.v1.AdminService/ListApiKeys '{"tenant_id":"acme"}'
check "revoked key -> unauthenticated" code_is unauthenticated

# Keys survive a server restart (they live in Redis, hashed).
# Every write Redis took is in its append-only file: the key id must be there,
# the secret must not.
OUT=$(ls "$WORK"/appendonlydir)
check "the AOF records the key id" grep -rqF "$ACME_READ_ID" "$WORK/appendonlydir"
check "the AOF holds no plaintext secret" bash -c "! grep -rqF '${ACME_ADMIN##*_}' '$WORK/appendonlydir'"

# SIGTERM: NOT_SERVING, drain, exit 0 within 5 s.
start=$(date +%s%N)
kill -TERM "$SEGMENTD_PID"
set +e; wait "$SEGMENTD_PID"; EXIT=$?; set -e
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
SEGMENTD_PID=""
OUT="exit=$EXIT after ${elapsed_ms} ms"
check "SIGTERM exits 0" [ "$EXIT" -eq 0 ]
check "SIGTERM stops within 5 s ($elapsed_ms ms)" [ "$elapsed_ms" -lt 5000 ]

start_segmentd
call "$ACME_ADMIN" segmentd.v1.AdminService/ListApiKeys '{"tenant_id":"acme"}'
check "keys survive a restart" ok

finish
