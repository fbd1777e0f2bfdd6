#include "claims.hpp"

#include <cmath>
#include <unordered_set>
#include <utility>
#include <vector>

#include "flat_json.hpp"
#include "jws.hpp"

namespace useradmin::detail {
namespace {

Error reject(const char* reason, std::string detail) { return Error::unauthenticated(reason, std::move(detail)); }

enum class Round { down, up };

// A NumericDate (RFC 7519 §2) in milliseconds. Fractions below a millisecond
// are rounded the way that makes the token less acceptable: `exp` down,
// `nbf`/`iat` up. False for non-numbers and values outside [0, year 9999].
bool numericDate(const JsonField& field, Round round, std::int64_t& ms) {
  if (field.type != JsonField::Type::number) return false;
  if (field.is_integer) {
    if (field.integer < 0 || field.integer > kMaxNumericDate) return false;
    ms = field.integer * 1000;
    return true;
  }
  const double seconds = field.number;
  if (!(seconds >= 0.0 && seconds <= static_cast<double>(kMaxNumericDate))) return false;  // also NaN
  const double scaled = seconds * 1000.0;
  ms = static_cast<std::int64_t>(round == Round::down ? std::floor(scaled) : std::ceil(scaled));
  return true;
}

bool isStringArray(const JsonField& field) {
  return field.type == JsonField::Type::array && field.only_strings;
}

}  // namespace

Result<VerifiedToken> checkClaims(std::string_view payload, const ClaimRules& rules, Timestamp now) {
  FlatObject claims;
  if (const FlatJsonError e = parseFlatObject(payload, kMaxClaimsDepth, claims); e != FlatJsonError::none) {
    return reject("bad_claims", std::string("payload: ") + describe(e));
  }

  // Types first, so a mistyped claim is reported as such whatever its value.
  const JsonField* exp = claims.find("exp");
  if (exp == nullptr) return reject("missing_exp", "token has no exp");
  std::int64_t exp_ms = 0;
  if (!numericDate(*exp, Round::down, exp_ms)) return reject("bad_claims", "exp is not a NumericDate in range");
  std::int64_t nbf_ms = 0;
  const JsonField* nbf = claims.find("nbf");
  if (nbf != nullptr && !numericDate(*nbf, Round::up, nbf_ms)) {
    return reject("bad_claims", "nbf is not a NumericDate in range");
  }
  std::int64_t iat_up_ms = 0, iat_down_ms = 0;
  const JsonField* iat = claims.find("iat");
  if (iat != nullptr && !(numericDate(*iat, Round::up, iat_up_ms) && numericDate(*iat, Round::down, iat_down_ms))) {
    return reject("bad_claims", "iat is not a NumericDate in range");
  }
  const JsonField* iss = claims.find("iss");
  if (iss != nullptr && iss->type != JsonField::Type::string) return reject("bad_claims", "iss is not a string");
  const JsonField* aud = claims.find("aud");
  if (aud != nullptr && aud->type != JsonField::Type::string && !isStringArray(*aud)) {
    return reject("bad_claims", "aud is neither a string nor an array of strings");
  }
  const JsonField* scope = claims.find("scope");
  if (scope != nullptr && scope->type != JsonField::Type::string) return reject("bad_claims", "scope is not a string");
  const JsonField* permissions = claims.find("permissions");
  if (permissions != nullptr && !isStringArray(*permissions)) {
    return reject("bad_claims", "permissions is not an array of strings");
  }

  // Time (RFC 7519 §4.1.4, §4.1.5): valid while exp + leeway is still ahead,
  // and from nbf - leeway on. iat gets its own, separate allowance: it is the
  // revocation anchor (rule 1), so every second of tolerance on it is a
  // second in which a token could outlive its holder's suspension.
  const std::int64_t now_ms = toMillis(now);
  const std::int64_t leeway = rules.leeway_ms;
  if (now_ms >= exp_ms + leeway) return reject("expired", "token expired");
  if (nbf != nullptr && now_ms < nbf_ms - leeway) return reject("not_yet_valid", "token is not valid yet (nbf)");
  if (iat != nullptr && iat_up_ms > now_ms + rules.max_iat_ahead_ms) {
    return reject("iat_in_future", "iat is later than now plus max_iat_ahead");
  }

  // Issuer and audience, when configured.
  if (rules.issuer) {
    if (iss == nullptr) return reject("bad_issuer", "token has no iss");
    if (iss->text != *rules.issuer) return reject("bad_issuer", "iss is not the configured issuer");
  }
  if (rules.audience) {
    bool match = false;
    if (aud != nullptr && aud->type == JsonField::Type::string) {
      match = aud->text == *rules.audience;
    } else if (aud != nullptr) {
      for (const auto& entry : aud->strings) match = match || entry == *rules.audience;
    }
    if (!match) {
      return reject("bad_audience", aud == nullptr ? "token has no aud" : "aud does not contain the configured audience");
    }
  }

  // Subject: the actor's user id.
  const JsonField* sub = claims.find("sub");
  if (sub == nullptr) return reject("missing_sub", "token has no sub");
  if (sub->type != JsonField::Type::string) return reject("bad_sub", "sub is not a string");
  if (!isValidId(sub->text)) return reject("bad_sub", "sub is not a valid user id");

  VerifiedToken token;
  token.subject = sub->text;
  token.expires_at = timestampFromMillis(exp_ms);
  // The effective issue time: a token let in early by the allowance counts as
  // issued that much earlier, so it cannot outlive a suspension inside it.
  if (iat != nullptr) token.issued_at = timestampFromMillis(iat_down_ms - rules.max_iat_ahead_ms);

  // Scopes: `scope` words (RFC 6749 §3.3, separated by spaces) then
  // `permissions` entries, first occurrence kept.
  if (scope != nullptr || permissions != nullptr) {
    // Views into `claims`, which outlives them. Linear search is cheapest
    // for the handful of scopes tokens carry; a hash set takes over so that
    // thousands of words stay O(n).
    std::vector<std::string_view> words;
    constexpr std::size_t kLinearLimit = 32;
    std::unordered_set<std::string_view> seen;
    auto add = [&](std::string_view word) {
      if (word.empty()) return;
      if (words.size() < kLinearLimit) {
        for (std::string_view w : words) {
          if (w == word) return;
        }
      } else {
        if (seen.empty()) seen.insert(words.begin(), words.end());
        if (!seen.insert(word).second) return;
      }
      words.push_back(word);
    };
    if (scope != nullptr) {
      std::string_view rest = scope->text;
      while (!rest.empty()) {
        const std::size_t space = rest.find(' ');
        add(rest.substr(0, space));
        rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
      }
    }
    if (permissions != nullptr) {
      for (const auto& entry : permissions->strings) add(entry);
    }
    token.scopes = std::vector<std::string>(words.begin(), words.end());
  }
  return token;
}

}  // namespace useradmin::detail
