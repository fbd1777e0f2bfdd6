#!/usr/bin/env bash
# Makes JWTs with an implementation independent of useradmin: the `openssl`
# command line (plus coreutils). The checked-in files beside this script were
# made by it; jwt_interop_test.cpp verifies them and, when `openssl` is on the
# PATH, also runs this script into a scratch directory and verifies fresh
# keys and tokens.
#
# usage: make_vectors.sh OUTPUT_DIR
#
# Writes, into OUTPUT_DIR:
#   rs256.pub.pem es256.pub.pem eddsa.pub.pem   SubjectPublicKeyInfo PEM
#   rs256.pkcs1.pem                             the RSA key as "RSA PUBLIC KEY"
#   rs256.cert.pem                              a self-signed certificate for it
#   hs256.secret                                a 40-byte secret plus "\n"
#   jwks.json                                   the three public keys + the
#                                               secret as kid rsa-1, ec-1,
#                                               ed-1, hs-1
#   {hs256,rs256,es256,eddsa}.jwt               tokens without a kid
#   {hs256,rs256,es256,eddsa}.kid.jwt           the same claims, with a kid
#   rs1024.pub.pem es384.pub.pem ed448.pub.pem  keys the verifier must refuse
# Private keys are made in a temporary directory and deleted.
set -euo pipefail

out=${1:?usage: make_vectors.sh OUTPUT_DIR}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

b64url() { basenc --base64url -w0 | tr -d '='; }
hex2bin() { local hex; hex=$(cat); printf '%b' "$(printf '%s' "$hex" | sed 's/../\\x&/g')"; }
bin2hex() { od -An -v -tx1 | tr -d ' \n'; }

# Keys.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/rsa.key" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/ec.key"
openssl genpkey -algorithm ED25519 -out "$work/ed.key"
openssl pkey -in "$work/rsa.key" -pubout -out "$out/rs256.pub.pem"
openssl pkey -in "$work/ec.key" -pubout -out "$out/es256.pub.pem"
openssl pkey -in "$work/ed.key" -pubout -out "$out/eddsa.pub.pem"
openssl rsa -in "$work/rsa.key" -RSAPublicKey_out -out "$out/rs256.pkcs1.pem" 2>/dev/null
openssl req -new -x509 -key "$work/rsa.key" -subj /CN=useradmin-test -days 36500 -out "$out/rs256.cert.pem"
secret=$(openssl rand -hex 20)
printf '%s\n' "$secret" > "$out/hs256.secret"

# Keys that must be refused.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 2>/dev/null | openssl pkey -pubout -out "$out/rs1024.pub.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 | openssl pkey -pubout -out "$out/es384.pub.pem"
openssl genpkey -algorithm ED448 | openssl pkey -pubout -out "$out/ed448.pub.pem"

# JWKS: RSA n/e from the modulus; EC x/y and Ed25519 x from the tail of the
# DER SubjectPublicKeyInfo (an uncompressed point 04||x||y, a raw key).
n=$(openssl rsa -pubin -in "$out/rs256.pub.pem" -noout -modulus | sed 's/^Modulus=//' | hex2bin | b64url)
e=$(printf '010001' | hex2bin | b64url)
openssl pkey -pubin -in "$out/es256.pub.pem" -outform DER -out "$work/ec.der"
x=$(tail -c 64 "$work/ec.der" | head -c 32 | b64url)
y=$(tail -c 32 "$work/ec.der" | b64url)
openssl pkey -pubin -in "$out/eddsa.pub.pem" -outform DER -out "$work/ed.der"
ed=$(tail -c 32 "$work/ed.der" | b64url)
k=$(printf '%s' "$secret" | b64url)
cat > "$out/jwks.json" <<JSON
{"keys":[
 {"kty":"RSA","kid":"rsa-1","use":"sig","alg":"RS256","n":"$n","e":"$e"},
 {"kty":"EC","kid":"ec-1","use":"sig","alg":"ES256","crv":"P-256","x":"$x","y":"$y"},
 {"kty":"OKP","kid":"ed-1","use":"sig","alg":"EdDSA","crv":"Ed25519","x":"$ed"},
 {"kty":"oct","kid":"hs-1","use":"sig","alg":"HS256","k":"$k"}
]}
JSON

# Tokens.
payload='{"sub":"usr_interop","iss":"https://issuer.example","aud":["useradmin","other"],"iat":1700000000,"nbf":1700000000,"exp":4102444800,"scope":"manage:users read:users"}'

# ECDSA signatures come out as DER; JWS wants r||s, each left-padded to 32 bytes.
der_to_raw() {
  openssl asn1parse -inform DER -in "$1" | sed -n 's/.*INTEGER *://p' | while read -r int; do
    # A negative substring offset longer than the string gives "" in bash,
    # so only cut when there is more than 64 digits to cut.
    [ ${#int} -gt 64 ] && int=${int: -64}
    int=$(printf '%64s' "$int" | tr ' ' 0)
    printf '%s' "$int"
  done | hex2bin
}

sign() {  # sign ALG KEYFILE SIGNING_INPUT
  printf '%s' "$3" > "$work/input"
  case $1 in
    HS256) openssl dgst -sha256 -mac HMAC -macopt "key:$secret" -binary "$work/input" ;;
    RS256) openssl dgst -sha256 -sign "$2" -binary "$work/input" ;;
    ES256) openssl dgst -sha256 -sign "$2" -binary -out "$work/sig.der" "$work/input"; der_to_raw "$work/sig.der" ;;
    EdDSA) openssl pkeyutl -sign -inkey "$2" -rawin -in "$work/input" ;;
  esac
}

token() {  # token ALG KEYFILE KID OUTFILE
  local header
  if [ -n "$3" ]; then header="{\"alg\":\"$1\",\"typ\":\"JWT\",\"kid\":\"$3\"}"; else header="{\"alg\":\"$1\",\"typ\":\"JWT\"}"; fi
  local input
  input="$(printf '%s' "$header" | b64url).$(printf '%s' "$payload" | b64url)"
  printf '%s.%s\n' "$input" "$(sign "$1" "$2" "$input" | b64url)" > "$4"
}

token HS256 - "" "$out/hs256.jwt";              token HS256 - hs-1 "$out/hs256.kid.jwt"
token RS256 "$work/rsa.key" "" "$out/rs256.jwt"; token RS256 "$work/rsa.key" rsa-1 "$out/rs256.kid.jwt"
token ES256 "$work/ec.key" "" "$out/es256.jwt";  token ES256 "$work/ec.key" ec-1 "$out/es256.kid.jwt"
token EdDSA "$work/ed.key" "" "$out/eddsa.jwt";  token EdDSA "$work/ed.key" ed-1 "$out/eddsa.kid.jwt"
