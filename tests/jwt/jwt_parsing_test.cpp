// The strict building blocks: base64url and the flat JSON reader.
#include <string>

#include "../../lib/jwt/base64url.hpp"
#include "../../lib/jwt/flat_json.hpp"
#include "jwt/jwt_test_support.hpp"

using namespace useradmin::detail;

TEST_CASE("base64url round-trips every length and byte value", "[jwt][parsing]") {
  std::string bytes;
  for (int n = 0; n < 300; ++n) {
    const std::string encoded = base64urlEncode(bytes);
    CHECK(encoded.find_first_of("+/=") == std::string::npos);
    CHECK(encoded.size() == (bytes.size() * 4 + 2) / 3);
    std::string decoded;
    REQUIRE(base64urlDecode(encoded, decoded));
    CHECK(decoded == bytes);
    bytes.push_back(static_cast<char>((n * 151 + 7) & 0xff));
  }
}

TEST_CASE("base64url decoding follows RFC 4648 section 5 examples", "[jwt][parsing]") {
  std::string out;
  REQUIRE(base64urlDecode("Zm9vYmFy", out));
  CHECK(out == "foobar");
  REQUIRE(base64urlDecode("Zm9vYg", out));
  CHECK(out == "foob");
  REQUIRE(base64urlDecode("Zm9vYmE", out));
  CHECK(out == "fooba");
  REQUIRE(base64urlDecode("", out));
  CHECK(out.empty());
  REQUIRE(base64urlDecode("-_8", out));
  CHECK(out == "\xfb\xff");
}

TEST_CASE("base64url decoding refuses padding, other alphabets and non-canonical text", "[jwt][parsing]") {
  std::string out;
  CHECK_FALSE(base64urlDecode("Zm9vYg==", out));
  CHECK_FALSE(base64urlDecode("Zm9vYg=", out));
  CHECK_FALSE(base64urlDecode("+/8", out));
  CHECK_FALSE(base64urlDecode("Zm9v Yg", out));
  CHECK_FALSE(base64urlDecode("Zm9vY", out));   // 1 mod 4
  CHECK_FALSE(base64urlDecode("Zm9vYh", out));  // "foob" with a stray low bit
  CHECK_FALSE(base64urlDecode("Zm9vYmF", out)); // "fooba" with a stray low bit
  CHECK_FALSE(base64urlDecode(std::string("Zm\0v", 4), out));
  CHECK(isBase64urlAlphabet("AZaz09-_"));
  CHECK_FALSE(isBase64urlAlphabet("a="));
}

TEST_CASE("the flat JSON reader keeps top-level members and their shapes", "[jwt][parsing]") {
  FlatObject object;
  REQUIRE(parseFlatObject(
              R"({"s":"a\"b\u00e9","i":-3,"u":18446744073709551615,"d":1.5,"t":true,"n":null,)"
              R"("a":["x","y"],"m":["x",1],"o":{"s":"nested","a":["q"]}})",
              8, object) == FlatJsonError::none);
  REQUIRE(object.members.size() == 9);
  CHECK(object.find("s")->text == "a\"b\xc3\xa9");
  CHECK(object.find("i")->is_integer);
  CHECK(object.find("i")->integer == -3);
  CHECK_FALSE(object.find("u")->is_integer);
  CHECK(object.find("d")->number == 1.5);
  CHECK(object.find("t")->boolean);
  CHECK(object.find("n")->type == JsonField::Type::null);
  CHECK(object.find("a")->strings == std::vector<std::string>{"x", "y"});
  CHECK(object.find("a")->only_strings);
  CHECK_FALSE(object.find("m")->only_strings);
  CHECK(object.find("o")->type == JsonField::Type::object);
  CHECK(object.find("o")->text.empty());
  CHECK(object.find("missing") == nullptr);
}

TEST_CASE("the flat JSON reader refuses non-objects, duplicates, depth and bad syntax", "[jwt][parsing]") {
  FlatObject object;
  CHECK(parseFlatObject("[]", 8, object) == FlatJsonError::not_object);
  CHECK(parseFlatObject("1", 8, object) == FlatJsonError::not_object);
  CHECK(parseFlatObject("", 8, object) == FlatJsonError::syntax);
  CHECK(parseFlatObject("{", 8, object) == FlatJsonError::syntax);
  CHECK(parseFlatObject("{} {}", 8, object) == FlatJsonError::syntax);
  CHECK(parseFlatObject(R"({"a":1,})", 8, object) == FlatJsonError::syntax);
  CHECK(parseFlatObject("{\"a\":\"\xc3\"}", 8, object) == FlatJsonError::syntax);
  CHECK(parseFlatObject(R"({"a":1,"a":1})", 8, object) == FlatJsonError::duplicate_key);
  CHECK(parseFlatObject(R"({"a":1,"b":{"c":1,"c":2}})", 8, object) == FlatJsonError::duplicate_key);
  CHECK(parseFlatObject(R"({"a":[{"c":1},{"c":2}]})", 8, object) == FlatJsonError::none);
  CHECK(parseFlatObject(R"({"a":[[1]]})", 3, object) == FlatJsonError::none);
  CHECK(parseFlatObject(R"({"a":[[[1]]]})", 3, object) == FlatJsonError::too_deep);
  std::string many = "{";
  for (int i = 0; i < 2000; ++i) many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  many += "\"k7\":0}";
  CHECK(parseFlatObject(many, 8, object) == FlatJsonError::duplicate_key);
  CHECK(parseFlatObject("{\"n\":" + many + "}", 8, object) == FlatJsonError::duplicate_key);
  many.replace(many.rfind("k7"), 2, "k2000");
  CHECK(parseFlatObject(many, 8, object) == FlatJsonError::none);
  CHECK(object.members.size() == 2001);
  CHECK(parseFlatObject("{\"n\":" + many + "}", 8, object) == FlatJsonError::none);
}
