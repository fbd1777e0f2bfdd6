#include "useradmin/fixture.hpp"

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <boost/json.hpp>

#include "useradmin/policy.hpp"

namespace useradmin {

namespace {

namespace json = boost::json;

Error fixtureError(std::string key, std::string message, std::string value = {}) {
  return Error::invalidArgument({std::move(key), std::move(message), std::move(value)}, "invalid_fixture");
}

// Names an entry by its id when it has a usable one, else by its position,
// so the operator can find it in the file.
std::string entryKey(const char* kind, std::size_t index, const json::object& obj) {
  if (const auto* id = obj.if_contains("id"); id != nullptr && id->is_string() && !id->get_string().empty())
    return std::string(kind) + "[" + std::string(id->get_string()) + "]";
  return std::string(kind) + "[" + std::to_string(index) + "]";
}

// Field readers: absent and null read as "not given".
Result<std::optional<std::string>> optString(const json::object& obj, const char* field, const std::string& key) {
  const auto* v = obj.if_contains(field);
  if (v == nullptr || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return fixtureError(key + "." + field, "must be a string");
  return std::optional<std::string>(std::string(v->get_string()));
}

Result<std::string> reqString(const json::object& obj, const char* field, const std::string& key) {
  auto v = optString(obj, field, key);
  if (!v) return std::move(v).error();
  if (!*v) return fixtureError(key + "." + field, "is required");
  return std::move(**v);
}

Result<bool> optBool(const json::object& obj, const char* field, const std::string& key) {
  const auto* v = obj.if_contains(field);
  if (v == nullptr || v->is_null()) return false;
  if (!v->is_bool()) return fixtureError(key + "." + field, "must be a boolean");
  return v->get_bool();
}

Result<std::optional<Timestamp>> optTime(const json::object& obj, const char* field, const std::string& key) {
  auto text = optString(obj, field, key);
  if (!text) return std::move(text).error();
  if (!*text) return std::optional<Timestamp>();
  auto parsed = parseRfc3339(**text);
  if (!parsed) return fixtureError(key + "." + field, "must be an RFC 3339 timestamp", **text);
  return std::optional<Timestamp>(*parsed);
}

Result<Organization> parseOrganization(const json::value& v, std::size_t index, Timestamp now) {
  const auto* obj = v.if_object();
  if (obj == nullptr) return fixtureError("organizations[" + std::to_string(index) + "]", "must be an object");
  const std::string key = entryKey("organizations", index, *obj);
  Organization org;
  auto id = reqString(*obj, "id", key);
  if (!id) return std::move(id).error();
  org.id = std::move(*id);
  auto name = reqString(*obj, "name", key);
  if (!name) return std::move(name).error();
  org.name = std::move(*name);
  auto type = reqString(*obj, "type", key);
  if (!type) return std::move(type).error();
  const auto parsed_type = parseOrgType(*type);
  if (!parsed_type) return fixtureError(key + ".type", "unknown organization type", *type);
  org.type = *parsed_type;
  auto parent = optString(*obj, "parent_id", key);
  if (!parent) return std::move(parent).error();
  org.parent_id = std::move(*parent);
  auto suspended = optBool(*obj, "suspended", key);
  if (!suspended) return std::move(suspended).error();
  org.suspended = *suspended;
  auto deleted = optBool(*obj, "deleted", key);
  if (!deleted) return std::move(deleted).error();
  org.deleted = *deleted;
  // As for users: a suspended organization without a date is taken as
  // suspended at load time.
  org.updated_at = now;
  if (org.suspended) org.suspended_at = now;
  return org;
}

Result<User> parseUser(const json::value& v, std::size_t index, Timestamp now) {
  const auto* obj = v.if_object();
  if (obj == nullptr) return fixtureError("users[" + std::to_string(index) + "]", "must be an object");
  const std::string key = entryKey("users", index, *obj);
  User user;
  auto id = reqString(*obj, "id", key);
  if (!id) return std::move(id).error();
  user.id = std::move(*id);
  for (auto [field, target] : {std::pair{"username", &user.username}, std::pair{"email", &user.email}}) {
    auto text = reqString(*obj, field, key);
    if (!text) return std::move(text).error();
    *target = std::move(*text);
  }
  auto display_name = optString(*obj, "name", key);
  if (!display_name) return std::move(display_name).error();
  user.name = display_name->value_or(std::string());
  auto external_id = optString(*obj, "external_id", key);
  if (!external_id) return std::move(external_id).error();
  user.external_id = std::move(*external_id);
  auto org = reqString(*obj, "organization_id", key);
  if (!org) return std::move(org).error();
  user.organization_id = std::move(*org);

  {
    const auto* roles = obj->if_contains("roles");
    if (roles == nullptr || roles->is_null()) return fixtureError(key + ".roles", "is required");
    if (!roles->is_array()) return fixtureError(key + ".roles", "must be an array of strings");
    for (const auto& role : roles->get_array()) {
      if (!role.is_string()) return fixtureError(key + ".roles", "must be an array of strings");
      user.roles.emplace_back(role.get_string());
    }
  }

  auto status = reqString(*obj, "status", key);
  if (!status) return std::move(status).error();
  const auto parsed_status = parseUserStatus(*status);
  if (!parsed_status) return fixtureError(key + ".status", "unknown status", *status);
  user.status = *parsed_status;

  auto suspended_at = optTime(*obj, "suspended_at", key);
  if (!suspended_at) return std::move(suspended_at).error();
  user.suspended_at = *suspended_at;
  auto suspended_by = optString(*obj, "suspended_by", key);
  if (!suspended_by) return std::move(suspended_by).error();
  user.suspended_by = std::move(*suspended_by);
  auto by_org = optString(*obj, "suspended_by_org_id", key);
  if (!by_org) return std::move(by_org).error();
  user.suspended_by_org_id = std::move(*by_org);
  auto valid_after = optTime(*obj, "tokens_valid_after", key);
  if (!valid_after) return std::move(valid_after).error();
  user.tokens_valid_after = *valid_after;

  // Suspension details describe a current suspension; on anyone else they
  // would make rule 8 judge an active user by a cascade that is over.
  if (user.status != UserStatus::suspended) {
    for (const char* field : {"suspended_at", "suspended_by", "suspended_by_org_id"}) {
      const auto* given = obj->if_contains(field);
      if (given != nullptr && !given->is_null())
        return fixtureError(key + "." + field, "is only allowed for a suspended user");
    }
  }
  // A suspension always revokes earlier credentials (contract §1), so a
  // suspended user without dates is taken as suspended now.
  if (user.status == UserStatus::suspended) {
    if (!user.suspended_at) user.suspended_at = now;
    if (!user.tokens_valid_after) user.tokens_valid_after = user.suspended_at;
  }
  user.updated_at = now;
  user.version = 1;
  return user;
}

}  // namespace

Result<Dataset> parseFixture(std::string_view text, Timestamp now) {
  json::error_code ec;
  json::parse_options opts;
  opts.max_depth = 16;
  const json::value doc = json::parse(text, ec, {}, opts);
  if (ec) return fixtureError("fixture", "is not valid JSON: " + ec.message());
  const auto* root = doc.if_object();
  if (root == nullptr) return fixtureError("fixture", "must be a JSON object");

  Dataset data;
  for (const char* section : {"organizations", "users"}) {
    const auto* v = root->if_contains(section);
    if (v == nullptr) continue;
    if (!v->is_array()) return fixtureError(section, "must be an array");
    const auto& arr = v->get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      if (section[0] == 'o') {
        auto org = parseOrganization(arr[i], i, now);
        if (!org) return std::move(org).error();
        data.organizations.push_back(std::move(*org));
      } else {
        auto user = parseUser(arr[i], i, now);
        if (!user) return std::move(user).error();
        data.users.push_back(std::move(*user));
      }
    }
  }
  return data;
}

Status validateDataset(const Dataset& data, const Policy& policy) {
  std::unordered_map<std::string_view, const Organization*> orgs;
  orgs.reserve(data.organizations.size());
  for (const auto& org : data.organizations) {
    const std::string key = "organizations[" + org.id + "]";
    if (!isValidId(org.id)) return fixtureError(key, "invalid id", org.id);
    if (!orgs.emplace(org.id, &org).second) return fixtureError(key, "duplicate id", org.id);
  }
  const Organization* root = nullptr;
  for (const auto& org : data.organizations) {
    const std::string key = "organizations[" + org.id + "]";
    if (!org.parent_id) {
      if (org.type != OrgType::owner) return fixtureError(key, "only an owner organization may lack parent_id");
      if (root != nullptr) return fixtureError(key, "a second root organization (the root is " + root->id + ")");
      root = &org;
      continue;
    }
    const auto parent = orgs.find(*org.parent_id);
    if (parent == orgs.end()) return fixtureError(key, "parent_id does not exist", *org.parent_id);
    // Walk up: a cycle never reaches a root.
    std::size_t steps = 0;
    for (const Organization* at = &org; at->parent_id; ++steps) {
      const auto up = orgs.find(*at->parent_id);
      if (up == orgs.end()) break;  // reported when that entry is checked
      if (up->second == &org || steps > orgs.size()) return fixtureError(key, "parent chain forms a cycle");
      at = up->second;
    }
    if (policy.rank(parent->second->type) <= policy.rank(org.type))
      return fixtureError(key, std::string("a ") + toString(org.type) + " cannot be placed under a " +
                                   toString(parent->second->type));
  }

  std::unordered_set<std::string_view> user_ids;
  user_ids.reserve(data.users.size());
  for (const auto& user : data.users) {
    const std::string key = "users[" + user.id + "]";
    if (!isValidId(user.id)) return fixtureError(key, "invalid id", user.id);
    if (!user_ids.insert(user.id).second) return fixtureError(key, "duplicate id", user.id);
    if (orgs.find(user.organization_id) == orgs.end())
      return fixtureError(key, "organization_id does not exist", user.organization_id);
    for (const auto& role : user.roles) {
      if (policy.role(role) == nullptr) return fixtureError(key, "unknown role", role);
    }
    if (user.status != UserStatus::suspended && (user.suspended_at || user.suspended_by || user.suspended_by_org_id))
      return fixtureError(key, "suspension details are only allowed for a suspended user");
    if (user.suspended_by_org_id && orgs.find(*user.suspended_by_org_id) == orgs.end())
      return fixtureError(key, "suspended_by_org_id does not exist", *user.suspended_by_org_id);
  }
  return okStatus();
}

Result<Dataset> loadFixture(std::string_view json, const Policy& policy, Timestamp now) {
  auto data = parseFixture(json, now);
  if (!data) return data;
  if (Status valid = validateDataset(*data, policy); !valid) return std::move(valid).error();
  return data;
}

}  // namespace useradmin
