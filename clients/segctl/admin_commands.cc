// segctl tenant create|list, key create|list|revoke.
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "clients/segctl/command.h"
#include "clients/segctl/table.h"
#include "segmentd/v1/admin.pb.h"

namespace segmentd::segctl {
namespace {

// Required: the API cannot tell which tenant a key belongs to, and guessing one
// (it used to default to "demo") makes another tenant's key fail PERMISSION_DENIED.
const FlagSpec kTenantFlag{"tenant", "TENANT", "the tenant whose keys to manage (required)", ""};
const FlagSpec kAsOperatorFlag{"as_operator", "",
                               "authenticate with --operator_key_file instead of --key_file", ""};

std::string ScopeName(int scope) {
  std::string name = v1::Scope_Name(static_cast<v1::Scope>(scope));
  if (name.rfind("SCOPE_", 0) == 0) name = name.substr(6);
  return absl::AsciiStrToLower(name);
}

// Returns --tenant, or a usage error when it is missing or empty.
absl::StatusOr<std::string> TenantFromFlag(const Context& ctx) {
  const std::string tenant = ctx.args->Get("tenant");
  if (tenant.empty()) {
    return absl::InvalidArgumentError(
        "--tenant=TENANT is required: name the tenant whose keys to manage (the tenant of "
        "--key_file's key, e.g. --tenant=demo for scripts/run.sh's demo.key)");
  }
  return tenant;
}

void PrintKeys(const Context& ctx, const std::vector<v1::ApiKey>& keys) {
  if (ctx.json) {
    v1::ListApiKeysResponse r;
    for (const v1::ApiKey& k : keys) *r.add_keys() = k;
    ctx.PrintJson(r);
    return;
  }
  Table t({"KEY_ID", "NAME", "SCOPES", "CREATED", "REVOKED"});
  for (const v1::ApiKey& k : keys) {
    std::vector<std::string> scopes;
    for (int s : k.scopes()) scopes.push_back(ScopeName(s));
    t.AddRow({k.key_id(), k.name(), absl::StrJoin(scopes, ","), FormatTimestamp(k.created_at()),
              FormatTimestamp(k.revoked_at())});
  }
  t.Print(*ctx.out);
}

int TenantCreate(const Context& ctx) {
  auto client = ctx.Connect(/*as_operator=*/true);
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::Tenant> tenant =
      (*client)->CreateTenant(ctx.args->positional()[0], ctx.args->Get("display_name"));
  if (!tenant.ok()) return ctx.Fail(tenant.status());
  if (ctx.json) {
    ctx.PrintJson(*tenant);
  } else {
    *ctx.out << "created tenant " << tenant->tenant_id() << "\n";
  }
  return kExitOk;
}

int TenantList(const Context& ctx) {
  auto client = ctx.Connect(/*as_operator=*/true);
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<std::vector<v1::Tenant>> tenants = (*client)->ListTenants();
  if (!tenants.ok()) return ctx.Fail(tenants.status());
  if (ctx.json) {
    v1::ListTenantsResponse r;
    for (const v1::Tenant& t : *tenants) *r.add_tenants() = t;
    ctx.PrintJson(r);
    return kExitOk;
  }
  Table t({"TENANT", "DISPLAY_NAME", "CREATED"});
  for (const v1::Tenant& tenant : *tenants) {
    t.AddRow({tenant.tenant_id(), tenant.display_name(), FormatTimestamp(tenant.created_at())});
  }
  t.Print(*ctx.out);
  return kExitOk;
}

int KeyCreate(const Context& ctx) {
  absl::StatusOr<std::string> tenant = TenantFromFlag(ctx);
  if (!tenant.ok()) return ctx.Usage(std::string(tenant.status().message()));
  std::vector<v1::Scope> scopes;
  for (absl::string_view s :
       absl::StrSplit(ctx.args->Get("scopes", "read"), ',', absl::SkipWhitespace())) {
    v1::Scope scope;
    if (!v1::Scope_Parse(absl::StrCat("SCOPE_", absl::AsciiStrToUpper(s)), &scope) ||
        scope == v1::SCOPE_UNSPECIFIED || scope == v1::SCOPE_OPERATOR) {
      return ctx.Usage(absl::StrCat("--scopes: \"", s, "\" is not read, write or admin"));
    }
    scopes.push_back(scope);
  }
  // `--scopes=` (empty) is a bad value like any other, not the server's to refuse.
  if (scopes.empty()) return ctx.Usage("--scopes: at least one of read, write, admin");
  absl::StatusOr<bool> as_operator = ctx.args->GetBool("as_operator");
  if (!as_operator.ok()) return ctx.Usage(std::string(as_operator.status().message()));
  auto client = ctx.Connect(*as_operator);
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::CreateApiKeyResponse> key =
      (*client)->CreateApiKey(*tenant, ctx.args->Get("name"), scopes);
  if (!key.ok()) return ctx.Fail(key.status());
  if (ctx.json) {
    ctx.PrintJson(*key);
  } else {
    // The secret alone on stdout, so `segctl key create ... > my.key` works;
    // the record on stderr.
    *ctx.err << "created key " << key->key().key_id() << " of tenant " << key->key().tenant_id()
             << " (the secret below is shown only once)\n";
    *ctx.out << key->secret() << "\n";
  }
  return kExitOk;
}

int KeyList(const Context& ctx) {
  absl::StatusOr<std::string> tenant = TenantFromFlag(ctx);
  if (!tenant.ok()) return ctx.Usage(std::string(tenant.status().message()));
  absl::StatusOr<bool> as_operator = ctx.args->GetBool("as_operator");
  if (!as_operator.ok()) return ctx.Usage(std::string(as_operator.status().message()));
  auto client = ctx.Connect(*as_operator);
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<std::vector<v1::ApiKey>> keys = (*client)->ListApiKeys(*tenant);
  if (!keys.ok()) return ctx.Fail(keys.status());
  PrintKeys(ctx, *keys);
  return kExitOk;
}

int KeyRevoke(const Context& ctx) {
  absl::StatusOr<std::string> tenant = TenantFromFlag(ctx);
  if (!tenant.ok()) return ctx.Usage(std::string(tenant.status().message()));
  absl::StatusOr<bool> as_operator = ctx.args->GetBool("as_operator");
  if (!as_operator.ok()) return ctx.Usage(std::string(as_operator.status().message()));
  auto client = ctx.Connect(*as_operator);
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::ApiKey> key = (*client)->RevokeApiKey(*tenant, ctx.args->positional()[0]);
  if (!key.ok()) return ctx.Fail(key.status());
  if (ctx.json) {
    // As the RPC answers it, and as `key create --json` prints its key.
    v1::RevokeApiKeyResponse response;
    *response.mutable_key() = *key;
    ctx.PrintJson(response);
  } else {
    *ctx.out << "revoked key " << key->key_id() << " at " << FormatTimestamp(key->revoked_at())
             << "\n";
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> AdminCommands() {
  return {
      {"tenant create",
       "TENANT_ID",
       "create a tenant (operator credential)",
       "TENANT_ID: 1-63 bytes of [a-z0-9_-] (lower case), starting with a letter or digit,\n"
       "e.g. shop or acme-eu_2. Authenticates with --operator_key_file.",
       {{"display_name", "NAME", "a name for people", ""}},
       1,
       1,
       TenantCreate},
      {"tenant list", "", "list the tenants (operator credential)", "", {}, 0, 0, TenantList},
      {"key create",
       "",
       "create an API key; prints its secret (shown once)",
       "Authenticates with --key_file (a tenant admin key) or, with --as_operator,\n"
       "the operator credential.",
       {kTenantFlag,
        {"name", "NAME", "a label for people", ""},
        {"scopes", "LIST", "comma-separated: read, write, admin", "read"},
        kAsOperatorFlag},
       0,
       0,
       KeyCreate},
      {"key list",
       "",
       "list a tenant's API keys",
       "",
       {kTenantFlag, kAsOperatorFlag},
       0,
       0,
       KeyList},
      {"key revoke",
       "KEY_ID",
       "revoke an API key (immediate on this replica, <= 2 s elsewhere)",
       "",
       {kTenantFlag, kAsOperatorFlag},
       1,
       1,
       KeyRevoke},
  };
}

}  // namespace segmentd::segctl
