#!/bin/sh
# Checks this evidence package with nothing but OpenSSL, sha256sum and POSIX tools:
# no Evidentia, no network. Run it from anywhere:  sh verify.sh
# or, with a copy of this script you trust, on a package folder:  sh verify.sh DIR
# Each check prints OK or FAILED; a signature check prints OpenSSL's own
# "Verified OK". The last line is the verdict. VERIFICATION.md explains each check.
set -u
LC_ALL=C
export LC_ALL
# Temporary files live in $work, removed on exit; an interrupt (Ctrl-C), TERM or
# HUP removes them and stops the script.
work=
cleanup() { [ -z "$work" ] || rm -rf "$work"; }
trap cleanup EXIT
trap 'cleanup; trap - EXIT; exit 129' HUP
trap 'cleanup; trap - EXIT; exit 130' INT
trap 'cleanup; trap - EXIT; exit 143' TERM
cd "${1:-$(dirname "$0")}" || exit 2
work=$(mktemp -d) || exit 2
failures=0

ok() { printf 'OK      %s\n' "$1"; }
failed() { printf 'FAILED  %s\n' "$1"; failures=$((failures + 1)); }
# base64url (RFC 4648 §5, no padding) from standard input to bytes on standard output.
b64url_decode() {
    s=$(tr -- '-_' '+/')
    case $(( ${#s} % 4 )) in 2) s="$s==" ;; 3) s="$s=" ;; esac
    printf '%s' "$s" | openssl base64 -d -A
}
b64url_encode() { openssl base64 -A | tr -- '+/' '-_' | tr -d '='; }
hex() { od -An -v -tx1 | tr -d ' \n'; }
sha256_hex() { openssl dgst -sha256 -binary | hex; }
# The string value of member $1 in the one-line canonical JSON on standard input,
# for values without escapes (key ids, digests, times).
member() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
# The string value of member $1 in the one-line canonical JSON on standard input,
# its escapes \" and \\ undone (a log id is printable ASCII, which canonical JSON
# escapes no other way).
string_member() { sed -n 's/.*"'"$1"'":"\([^"\\]*\(\\.[^"\\]*\)*\)".*/\1/p' | sed 's/\\\(.\)/\1/g'; }
# jws_form FILE: whether FILE is three parts joined by two dots, without a line feed.
jws_form() { [ "$(wc -l < "$1")" -eq 0 ] && [ "$(tr -cd . < "$1" | wc -c)" -eq 2 ]; }
# The bytes of file $1 inside a JSON string, without the quotes: a backslash, a
# double quote and a line feed escaped, every other byte as it is.
json_string() {
    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e '1!s/^/\\n/' "$1" | tr -d '\n'
    [ "$(tail -c 1 "$1" | hex)" != 0a ] || printf '\\n'
}
# The integer value of member $1.
number() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p"; }

# A package is one folder of plain files. Anything else (a link, which could lead
# outside the folder, a folder, a device, a FIFO that would block a read, a name
# that is not a plain name) is refused before any file is read.
refused=0
for f in * .[!.]* ..?*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    why=
    case $f in
        *[!A-Za-z0-9._-]* | *.) why="is not a plain file name (letters, digits, '.', '_' and '-')" ;;
    esac
    if [ -z "$why" ]; then
        if [ -L "$f" ]; then
            why="is a symbolic link"
        elif [ ! -f "$f" ]; then
            why="is not a regular file"
        fi
    fi
    if [ -n "$why" ]; then
        printf 'REFUSED %s %s\n' "$(printf '%s' "$f" | tr -c 'A-Za-z0-9._-' '?')" "$why"
        refused=$((refused + 1))
    fi
done
if [ "$refused" -ne 0 ]; then
    echo
    echo "VERDICT: INVALID — the package is not a folder of plain files, so it was not checked"
    exit 2
fi

echo "Evidence package: $(cat subject.txt 2>/dev/null || echo '(no subject.txt)')"
echo

# 1. Every file is the one the package was made with. SHA256SUMS may name only the
#    files a package has, each once, so sha256sum reads nothing else.
expected="receipt.jws batch-receipt.json signing-input.txt signature.der record.json event.json \
public-key.pem public-key.jwk keys.jwks inclusion-proof.json checkpoint.txt checkpoint-body.txt \
checkpoint-key.pem timestamp.tst tsa-root.pem tsa-chain.pem subject.txt VERIFICATION.md verify.sh manifest.json \
message.jws message-keys.jwks message-provenance.json message-verification.json message-export.json \
message-signing-input.txt message-payload.bin message-signature.bin message-key.jwk message-key.pem \
request-receipt.jws request-signing-input.txt request-signature.der request-record.json request-event.json \
request-inclusion-proof.json request-message.jws request-message-keys.jwks request-message-provenance.json \
request-message-verification.json request-message-export.json request-message-signing-input.txt \
request-message-payload.bin request-message-signature.bin request-message-key.jwk request-message-key.pem \
cosigned-checkpoint.txt witness-policy.txt disclosures.txt erasure-record.json erasure-event.json \
erasure-inclusion-proof.json"
: > "$work/listed"
: > "$work/sums-lines"
sums_ok=no
if [ ! -f SHA256SUMS ]; then
    echo "SHA256SUMS is missing" > "$work/sums-lines"
elif [ "$(tail -c 1 SHA256SUMS | hex)" != 0a ] || ! tr -d '\000' < SHA256SUMS | cmp -s - SHA256SUMS; then
    echo "SHA256SUMS is not lines of text, each ending in a newline" > "$work/sums-lines"
elif awk -v names="$expected" -v listed="$work/listed" 'BEGIN {
            n = split(names, list); for (i = 1; i <= n; i++) known[list[i]] = 1
            # The files of key records 1 to 99 (check 11).
            key_record = "^key-record-[1-9][0-9]?(\\.json|-(event\\.json|key\\.pem|receipt\\.jws|signing-input\\.txt|signature\\.der|batch-receipt\\.json|checkpoint\\.txt|checkpoint-body\\.txt|inclusion-proof\\.json))$"
        }
        {
            hash = substr($0, 1, 64); name = substr($0, 67)
            if (length(hash) != 64 || hash !~ /^[0-9a-f]+$/ || substr($0, 65, 2) != "  ") {
                printf "SHA256SUMS line %d is not a SHA-256 and a file name\n", NR; bad = 1
            } else if (!(name in known) && name !~ key_record) {
                printf "SHA256SUMS line %d names a file a package does not have\n", NR; bad = 1
            } else if (name in seen) {
                printf "SHA256SUMS names %s twice\n", name; bad = 1
            } else {
                seen[name] = 1; print name > listed
            }
        }
        END { exit bad }' SHA256SUMS > "$work/sums-lines"; then
    sums_ok=yes
fi
unlisted=
for f in * .[!.]* ..?*; do
    [ -e "$f" ] || continue
    [ "$f" = SHA256SUMS ] || grep -q -x -F -e "$f" "$work/listed" || unlisted="$unlisted $f"
done
# A package proves one record one way: a receipt or a batch receipt, never both
# (a second one would be hashed but never checked).
both=no
[ -f receipt.jws ] && [ -f batch-receipt.json ] && both=yes
if [ "$sums_ok" = yes ] && sha256sum -c --strict --quiet SHA256SUMS >"$work/sums" 2>&1 && [ -z "$unlisted" ] \
    && [ "$both" = no ]; then
    ok "1. every file matches its SHA-256 in SHA256SUMS"
else
    [ "$both" = no ] || echo "the package holds both receipt.jws and batch-receipt.json; a package holds one"
    if [ "$sums_ok" = yes ]; then
        cat "$work/sums"
    else
        cat "$work/sums-lines"
        echo "SHA256SUMS must list files of a package only, each once, so no file was compared with it"
    fi
    [ -z "$unlisted" ] || echo "not listed in SHA256SUMS:$unlisted"
    failed "1. files differ from SHA256SUMS (changed, missing or added)"
fi

# 2. The public key: the PEM and the JWK are the same key, and its thumbprint
#    (RFC 7638) is the key id the record names.
x=$(member x < public-key.jwk)
y=$(member y < public-key.jwk)
{ printf '%s' "$x" | b64url_decode; printf '%s' "$y" | b64url_decode; } > "$work/xy"
openssl pkey -pubin -in public-key.pem -outform DER 2>/dev/null | tail -c 64 > "$work/pem-xy"
thumbprint=$(printf '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' "$x" "$y" | openssl dgst -sha256 -binary | b64url_encode)
kid=$(member kid < record.json)
# The JWK file is exactly the canonical public JWK of that key.
printf '{"alg":"ES256","crv":"P-256","kid":"%s","kty":"EC","use":"sig","x":"%s","y":"%s"}' "$thumbprint" "$x" "$y" > "$work/jwk"
# The PEM file is exactly OpenSSL's own PEM of that key.
openssl pkey -pubin -in public-key.pem -pubout 2>/dev/null > "$work/pem"
if [ -s "$work/xy" ] && cmp -s "$work/xy" "$work/pem-xy" && [ "$thumbprint" = "$kid" ] && cmp -s "$work/jwk" public-key.jwk \
    && cmp -s "$work/pem" public-key.pem; then
    ok "2. public-key.pem and public-key.jwk are one key, whose thumbprint is the record's kid ($kid)"
else
    failed "2. the public key files disagree, or the key is not the one the record names"
fi

# 3. The key history lists that key, in force at the record's time: not before its
#    nbf, before its exp and before any revocation. A NumericDate (seconds since
#    1970) denotes its double's exact value to the nanosecond (SPEC §4.1), and the
#    record's time is compared with it as whole nanoseconds, never as a double.
# The instant of an RFC 3339 time YYYY-MM-DDTHH:MM:SS[.F]Z as "SECONDS NANOSECONDS"
# (days from the civil calendar; F to nine digits), or nothing when the text is not
# such a time.
epoch() {
    awk -v t="$1" 'BEGIN {
        if (t !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.[0-9]+)?Z$/) exit
        y = substr(t, 1, 4) + 0; m = substr(t, 6, 2) + 0; d = substr(t, 9, 2) + 0
        y -= (m <= 2); era = (y >= 0 ? int(y / 400) : int((y - 399) / 400)); yoe = y - era * 400
        doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
        days = era * 146097 + yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy - 719468
        s = days * 86400 + substr(t, 12, 2) * 3600 + substr(t, 15, 2) * 60 + substr(t, 18, 2)
        f = (substr(t, 20, 1) == ".") ? substr(t, 21, length(t) - 21) : ""
        printf "%.0f %s\n", s, substr(f "000000000", 1, 9)
    }'
}
# key_table: each entry of the "keys" array of keys.jwks as one line of its own
# top-level members kid, nbf, exp and revoked, as written, separated by tabs (empty
# when absent). Only the entry's own members count: never one nested in another
# member's value, nor text inside a string (a revocation reason may hold anything).
# An entry with a member name twice, or a name written with an escape (which could
# spell "kid" unseen), is malformed to the core: its kid is printed as "!".
key_table() {
    tr -d '\n' < keys.jwks | awk '{
        n = length($0); depth = 0; quoted = 0; escaped = 0; state = 0; entry = 0
        # state, inside an entry (depth 3): 0 before a member name, 1 in the name,
        # 2 after it, 3 in the value.
        for (i = 1; i <= n; i++) {
            c = substr($0, i, 1)
            if (quoted) {
                if (escaped) escaped = 0; else if (c == "\\") escaped = 1; else if (c == "\"") quoted = 0
                if (state == 1) { if (quoted) name = name c; else { state = 2; if (index(name, "\\")) bad = 1 } }
                else if (state == 3) value = value c
                continue
            }
            if (c == " " || c == "\t" || c == "\r") continue
            if (c == "\"") {
                quoted = 1
                if (depth == 3 && state == 0) { state = 1; name = "" }
                else if (state == 3) value = value c
            } else if (c == "{" || c == "[") {
                depth++
                if (depth == 3 && c == "{") { split("", m); entry = 1; state = 0; bad = 0 }
                else if (state == 3) value = value c
            } else if (c == "}" || c == "]") {
                if (depth == 3 && entry) {
                    if (state == 3) { if (name in m) bad = 1; m[name] = value }
                    print (bad ? "!" : m["kid"]) "\t" m["nbf"] "\t" m["exp"] "\t" m["revoked"]
                    entry = 0; state = 0
                } else if (state == 3) value = value c
                depth--
            } else if (depth == 3 && c == ":" && state == 2) {
                state = 3; value = ""
            } else if (depth == 3 && c == "," && state == 3) {
                if (name in m) bad = 1
                m[name] = value; state = 0
            } else if (state == 3) value = value c
        }
    }'
}
# key_row KID: the line of key_table whose own kid is KID; nothing when KID is listed
# twice, or any entry is malformed or has a kid written with an escape: such a key
# set is malformed to the core, or may list KID twice unseen (SPEC §4), and shows no
# key in force.
key_row() {
    key_table | awk -F '\t' -v kid="\"$1\"" '
        $1 == "!" || index($1, "\\") { bad = 1 }
        $1 == kid { n++; row = $0 }
        END { if (!bad && n == 1) print row }'
}
decimal() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p"; }
# in_force KID TIME: "yes" when keys.jwks lists the key KID as in force at TIME,
# else "no" (check 3 asks it for the record, check 14 for the erasure record).
in_force() {
    f_seconds=$(epoch "$2")
    f_entry=$(key_row "$1")
    f_nbf=$(printf '%s' "$f_entry" | cut -f2)
    f_exp=$(printf '%s' "$f_entry" | cut -f3)
    f_revoked=$(printf '%s' "$f_entry" | cut -f4 | decimal revoked_at)
    # A bound that is not a number, or a revocation without a time, is no bound: the
    # key is not shown in force.
    case "$f_nbf$f_exp" in *[!0-9.eE+-]*) f_entry= ;; esac
    [ -z "$(printf '%s' "$f_entry" | cut -f4)" ] || [ -n "$f_revoked" ] || f_entry=
    awk -v t="$f_seconds" -v nbf="$f_nbf" -v expires="$f_exp" -v rev="$f_revoked" -v found="${f_entry:+yes}" '
        # A NumericDate as whole seconds (ss) and nanoseconds (nn): printf rounds the
        # double exactly, ties to even.
        function instant(v,   text, dot) {
            text = sprintf("%.9f", v + 0); dot = index(text, ".")
            ss = substr(text, 1, dot - 1) + 0; nn = substr(text, dot + 1) + 0
            if (substr(text, 1, 1) == "-" && nn > 0) { ss -= 1; nn = 1000000000 - nn }
        }
        # Whether the record time comes before the NumericDate v.
        function before(v) { instant(v); return ts < ss || (ts == ss && tn < nn) }
        BEGIN {
            ok = (found == "yes" && t != "")
            split(t, parts, " "); ts = parts[1] + 0; tn = parts[2] + 0
            if (nbf != "" && before(nbf)) ok = 0
            if (expires != "" && !before(expires)) ok = 0
            if (rev != "" && !before(rev)) ok = 0
            print ok ? "yes" : "no"
        }'
}
time=$(member time < record.json)
if [ "$(in_force "$kid" "$time")" = yes ]; then
    ok "3. keys.jwks lists the key as in force at the record's time ($time)"
else
    failed "3. keys.jwks does not list the key as in force at $time"
fi

# 4. The signature: OpenSSL verifies it over the exact signing input.
if [ -f receipt.jws ]; then
    # A receipt: the JWS signing input is the receipt's first two parts, and
    # signature.der is its third part in DER.
    cut -d. -f1,2 receipt.jws | tr -d '\n' > "$work/input"
    cut -d. -f3 receipt.jws | tr -d '\n' | b64url_decode > "$work/raw"
    r=$(head -c 32 "$work/raw" | hex)
    s=$(tail -c 32 "$work/raw" | hex)
    printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' "$r" "$s" > "$work/asn1"
    openssl asn1parse -genconf "$work/asn1" -noout -out "$work/der" >/dev/null 2>&1
    cut -d. -f2 receipt.jws | tr -d '\n' | b64url_decode > "$work/record"
    if jws_form receipt.jws && cmp -s "$work/input" signing-input.txt && cmp -s "$work/der" signature.der \
        && cmp -s "$work/record" record.json; then
        ok "4a. signing-input.txt, signature.der and record.json are exactly the receipt's parts"
    else
        failed "4a. signing-input.txt, signature.der or record.json is not the receipt's"
    fi
    signed=signing-input.txt
    what="the receipt"
else
    # A batch receipt: the key signed the checkpoint, which commits to the record (5).
    # batch-receipt.json must be exactly the batch receipt made of record.json,
    # inclusion-proof.json and checkpoint.txt: canonical JSON with the record and
    # the checkpoint as JSON strings (a backslash, a double quote and a line feed
    # escaped; canonical record bytes and a signed note have nothing else to escape).
    {
        printf '{"checkpoint":"'; json_string checkpoint.txt
        printf '","proof":'; cat inclusion-proof.json
        printf ',"record":"'; json_string record.json
        printf '","type":"evidentia-batch-receipt","v":1}'
    } > "$work/batch" 2>/dev/null
    if [ -f batch-receipt.json ] && [ -f record.json ] && [ -f inclusion-proof.json ] && [ -f checkpoint.txt ] \
        && cmp -s "$work/batch" batch-receipt.json; then
        ok "4a. batch-receipt.json is exactly the batch receipt of record.json, inclusion-proof.json and checkpoint.txt"
    else
        failed "4a. batch-receipt.json is not the batch receipt of record.json, inclusion-proof.json and checkpoint.txt"
    fi
    signed=checkpoint-body.txt
    what="the checkpoint"
fi
if openssl dgst -sha256 -verify public-key.pem -signature signature.der "$signed"; then
    ok "4. the signature over $what is valid for the key"
else
    failed "4. the signature over $what does not verify"
fi

# 5. The record is in the log: its leaf hash and the inclusion proof lead to the
#    root of the signed checkpoint (RFC 9162 §2.1.3.2, hashes over SHA-256 with
#    the 0x00 leaf and 0x01 node prefixes).
# inclusion RECORD PROOF [BODY]: proof_ok is yes when the inclusion proof in file
# PROOF, written canonically, leads from the leaf hash of file RECORD to the root of
# the checkpoint text BODY (checkpoint-body.txt), at the record's seq in a tree of
# the checkpoint's size.
inclusion() {
    proof_body=${3:-checkpoint-body.txt}
    index=$(number leaf_index < "$2")
    size=$(number tree_size < "$2")
    # Numbers the shell cannot count with (beyond 2^53, or none) lead nowhere.
    case "$index $size" in
        " "* | *" " | ????????????????*" "* | *" "????????????????* | 0[0-9]*" "* | *" "0[0-9]*) proof_ok=no; return ;;
    esac
    { printf '\000'; cat "$1"; } | openssl dgst -sha256 -binary > "$work/hash"
    fn=$index
    sn=$((size - 1))
    proof_ok=yes
    for h in $(sed -n 's/.*"hashes":\[\([^]]*\)\].*/\1/p' "$2" | tr ',' ' ' | tr -d '"'); do
        printf '%s' "$h" | openssl base64 -d -A > "$work/sibling"
        # 32 bytes, written as base64 writes them (no spare bits set).
        if [ "$sn" -eq 0 ] || [ "$(wc -c < "$work/sibling")" -ne 32 ] \
            || [ "$(openssl base64 -A < "$work/sibling")" != "$h" ]; then
            proof_ok=no
            break
        fi
        if [ $((fn % 2)) -eq 1 ] || [ "$fn" -eq "$sn" ]; then
            { printf '\001'; cat "$work/sibling" "$work/hash"; } | openssl dgst -sha256 -binary > "$work/next"
            if [ $((fn % 2)) -eq 0 ]; then
                while [ "$fn" -ne 0 ] && [ $((fn % 2)) -eq 0 ]; do fn=$((fn / 2)); sn=$((sn / 2)); done
            fi
        else
            { printf '\001'; cat "$work/hash" "$work/sibling"; } | openssl dgst -sha256 -binary > "$work/next"
        fi
        mv "$work/next" "$work/hash"
        fn=$((fn / 2))
        sn=$((sn / 2))
    done
    # The proof file is exactly the canonical proof of those values.
    hashes=$(sed -n 's/.*"hashes":\[\([^]]*\)\].*/\1/p' "$2")
    printf '{"hashes":[%s],"leaf_index":%s,"tree_size":%s,"type":"inclusion"}' "$hashes" "$index" "$size" > "$work/proof"
    cmp -s "$work/proof" "$2" || proof_ok=no
    root=$(sed -n 3p "$proof_body")
    checkpoint_size=$(sed -n 2p "$proof_body")
    if [ "$proof_ok" = yes ] && [ "$sn" -eq 0 ] && [ "$(openssl base64 -A < "$work/hash")" = "$root" ] \
        && [ "$size" = "$checkpoint_size" ] && [ "$index" = "$(number seq < "$1")" ]; then
        proof_ok=yes
    else
        proof_ok=no
    fi
}
inclusion record.json inclusion-proof.json
if [ "$proof_ok" = yes ]; then
    ok "5. record $index is in the log of $size records whose root the checkpoint states"
else
    failed "5. the inclusion proof does not lead from the record to the checkpoint's root"
fi

# pem_kid PEM: the thumbprint (RFC 7638) of the P-256 key in file PEM, when PEM is
# exactly OpenSSL's PEM of such a key; nothing otherwise.
pem_kid() {
    openssl pkey -pubin -in "$1" -pubout 2>/dev/null > "$work/pem-canonical"
    openssl pkey -pubin -in "$1" -outform DER 2>/dev/null > "$work/pem-der"
    if cmp -s "$work/pem-canonical" "$1" && [ "$(wc -c < "$work/pem-der")" -eq 91 ]; then
        px=$(tail -c 64 "$work/pem-der" | head -c 32 | b64url_encode)
        py=$(tail -c 32 "$work/pem-der" | b64url_encode)
        printf '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' "$px" "$py" | openssl dgst -sha256 -binary | b64url_encode
    fi
}
# The record's log id, which names the log's signature lines and is every
# checkpoint's origin.
log_id=$(string_member log_id < record.json)
# note_signed NOTE BODY KEY: note_ok is yes when file NOTE is the signed text BODY,
# an empty line and well-formed signature lines, BODY's origin (its first line) is
# the log id, and every signature line under the log id (matched as plain text, not
# as a pattern) with the key hash of the key in file KEY verifies, and there is one
# (SPEC §10).
note_signed() {
    body_length=$(wc -c < "$2")
    head -c "$body_length" "$1" > "$work/body"
    tail -c +$((body_length + 1)) "$1" | head -c 1 | hex > "$work/blank"
    tail -c +$((body_length + 2)) "$1" > "$work/signatures"
    malformed=$(grep -c -v '^— [^ ][^ ]* [A-Za-z0-9+/][A-Za-z0-9+/]*=*$' "$work/signatures")
    key_hash=$(openssl pkey -pubin -in "$3" -outform DER 2>/dev/null | openssl dgst -sha256 -binary | head -c 4 | hex)
    found=0
    note_ok=yes
    for signature in $(prefix="— $log_id " awk 'index($0, ENVIRON["prefix"]) == 1 { print $NF }' "$work/signatures"); do
        printf '%s' "$signature" | openssl base64 -d -A > "$work/note-sig"
        if [ "$(head -c 4 "$work/note-sig" | hex)" = "$key_hash" ]; then
            tail -c +5 "$work/note-sig" > "$work/note-der"
            found=$((found + 1))
            openssl dgst -sha256 -verify "$3" -signature "$work/note-der" "$2" || note_ok=no
        fi
    done
    if ! cmp -s "$work/body" "$2" || [ "$(cat "$work/blank")" != 0a ] || [ "$malformed" != 0 ] \
        || [ "$(tail -c 1 "$1" | hex)" != 0a ] || [ "$found" -eq 0 ] || [ "$(sed -n 1p "$2")" != "$log_id" ]; then
        note_ok=no
    fi
}
# key_event FILE: reads a key record's event as check 11 says (SPEC §19): one line,
# without a line feed or NUL byte, {"evidentia_key_record":{"at":"…","change":"C",
# "format":1,"keys":{"keys":[…]},"kid":"D" and then ,"next":"X"}} for a rotation,
# }} or ,"reason":"…"}} for a revocation. Sets k_change (rotate or revoke; empty when
# FILE has not that form), k_changed (D), k_next (X) and $work/k-keys (the key set:
# up to the last ]},"kid":" of the line, as no JSON string holds a bare ").
key_event() {
    k_change=
    k_changed=
    k_next=
    : > "$work/k-keys"
    [ -f "$1" ] && [ "$(wc -l < "$1")" -eq 0 ] && tr -d '\000' < "$1" | cmp -s - "$1" || return 0
    re='^{"evidentia_key_record":{"at":"[^"]*","change":"\([a-z]*\)","format":1,"keys":\({"keys":\[.*]}\),"kid":"\([^"]*\)"\(.*\)$'
    line_change=$(sed -n "s/$re/\1/p" "$1")
    k_changed=$(sed -n "s/$re/\3/p" "$1")
    rest=$(sed -n "s/$re/\4/p" "$1")
    case "$line_change:$rest" in
        rotate:',"next":"'?*'"}}')
            k_next=${rest#,\"next\":\"}
            k_next=${k_next%\"\}\}}
            case $k_next in *\"*) return 0 ;; esac
            ;;
        revoke:'}}') ;;
        revoke:',"reason":"'*'"}}') [ "${#rest}" -ge 14 ] || return 0 ;;
        *) return 0 ;;
    esac
    k_change=$line_change
    sed -n "s/$re/\2/p" "$1" | tr -d '\n' > "$work/k-keys"
}
# own_rotation: own_next is the key event.json hands the record's key over to, when
# the record is itself a rotation of its key; empty otherwise.
own_rotation() {
    key_event event.json
    own_next=
    [ "$k_change" != rotate ] || [ "$k_changed" != "$(member kid < record.json)" ] || own_next=$k_next
}
# handed_over: the keys the package's rotations hand over to, one per line: the
# next of the record's own rotation, and of each rotation among
# key-record-1-event.json, key-record-2-event.json, … (up to 99).
handed_over() {
    own_rotation
    [ -z "$own_next" ] || printf '%s\n' "$own_next"
    h=1
    while [ "$h" -le 99 ] && [ -f "key-record-$h.json" ]; do
        key_event "key-record-$h-event.json"
        [ "$k_change" != rotate ] || printf '%s\n' "$k_next"
        h=$((h + 1))
    done
}

# 6. The checkpoint is signed by the same key (C2SP signed note: the signed text, an
#    empty line, then lines "— <name> <base64(key hash, DER signature)>") — or, when
#    the key was rotated before the checkpoint was signed, by the later key in
#    checkpoint-key.pem, which must be a key a rotation the package carries hands
#    over to (check 11 shows that the log made them) and that keys.jwks does not
#    revoke: a key whose revocation the log recorded could sign any tree.
checkpoint_key=public-key.pem
key_listed=yes
if [ -f checkpoint-key.pem ]; then
    checkpoint_key=checkpoint-key.pem
    ckid=$(pem_kid checkpoint-key.pem)
    if [ -z "$ckid" ] || ! handed_over | grep -q -x -F -e "$ckid" \
        || [ -n "$(key_row "$ckid" | cut -f4)" ]; then
        key_listed=no
    fi
fi
note_signed checkpoint.txt checkpoint-body.txt "$checkpoint_key"
if [ "$note_ok" = yes ] && [ "$key_listed" = yes ]; then
    if [ "$checkpoint_key" = public-key.pem ]; then
        ok "6. the checkpoint is signed by the same key"
    else
        ok "6. the checkpoint is signed by the later key $ckid, one the log's key records hand over to (checkpoint-key.pem)"
    fi
else
    failed "6. the checkpoint's signature does not verify with the key"
fi

# 7. The event: its SHA-256 is the digest the record commits to. A package of an
#    erased record has no event.json but erasure-record.json: check 14 judges it.
event=$(member event < record.json)
if [ -e erasure-record.json ] && [ ! -e event.json ]; then
    echo "--      7. the event was erased: check 14 shows by which record"
elif [ "sha256:$(sha256_hex < event.json)" = "$event" ]; then
    ok "7. event.json is the event the record commits to"
else
    failed "7. event.json is not the event the record commits to"
fi

# 8. The trusted timestamp (RFC 3161), when the package has one: a time-stamping
#    authority signed the SHA-256 of checkpoint.txt with its time. OpenSSL checks
#    the token, its certificate's time-stamping purpose and its chain to
#    tsa-root.pem, every certificate valid at the stamped time (not today), and
#    the root's own signature (-check_ss_sig), so a damaged root is refused.
#    tsa-chain.pem holds the whole chain below the root (OpenSSL 1.1 does not take
#    certificates from the token to build it).
# A certificate file is exactly OpenSSL's PEM of the certificates in it; its
# certificates are left in $work/cert-NNN, in order.
canonical_certificates() {
    rm -f "$work"/cert-*
    awk -v dir="$work" '/^-----BEGIN CERTIFICATE-----$/ { n++ } { print > sprintf("%s/cert-%03d", dir, n) }' "$1"
    for c in "$work"/cert-*; do openssl x509 -in "$c" 2>/dev/null || echo invalid; done
}
if [ -f timestamp.tst ]; then
    # "Oct  8 15:40:32 2024 GMT" or "Oct  8 15:40:32.125 2024 GMT"
    stamp=$(openssl ts -reply -token_in -in timestamp.tst -text 2>/dev/null | sed -n 's/^Time stamp: //p')
    stamp_time=$(printf '%s\n' "$stamp" | awk '$5 == "GMT" {
        m = index("JanFebMarAprMayJunJulAugSepOctNovDec", $1); if (m % 3 != 1) exit
        split($3, hms, "."); printf "%s-%02d-%02dT%sZ\n", $4, (m + 2) / 3, $2, hms[1]
    }')
    at=$(epoch "$stamp_time" | cut -d' ' -f1)
    rm -f "$work/root" "$work/chain" "$work/ts"
    # The root: one self-signed certificate whose own signature holds.
    certificates_ok=no
    canonical_certificates tsa-root.pem > "$work/canonical"
    if [ -n "$at" ] && cmp -s "$work/canonical" tsa-root.pem \
        && [ "$(grep -c '^-----BEGIN CERTIFICATE-----$' tsa-root.pem)" = 1 ] \
        && openssl verify -check_ss_sig -attime "$at" -CAfile tsa-root.pem tsa-root.pem > "$work/root" 2>&1; then
        certificates_ok=yes
    fi
    # The rest of the chain, and the certificates the token carries (which its
    # signature does not cover): every one leads to the root at the stamped time.
    untrusted=
    : > "$work/given.pem"
    if [ -f tsa-chain.pem ]; then
        untrusted="-untrusted tsa-chain.pem"
        canonical_certificates tsa-chain.pem > "$work/canonical"
        cmp -s "$work/canonical" tsa-chain.pem || certificates_ok=no
        cat tsa-chain.pem > "$work/given.pem"
    fi
    openssl pkcs7 -inform DER -in timestamp.tst -print_certs 2>/dev/null >> "$work/given.pem" || certificates_ok=no
    rm -f "$work"/cert-*
    awk -v dir="$work" '/^-----BEGIN CERTIFICATE-----$/ { n++; keep = 1 }
        keep { print > sprintf("%s/cert-%03d", dir, n) } /^-----END CERTIFICATE-----$/ { keep = 0 }' "$work/given.pem"
    for c in "$work"/cert-*; do
        [ -f "$c" ] || continue
        # shellcheck disable=SC2086
        openssl verify -check_ss_sig -attime "${at:-0}" -CAfile tsa-root.pem $untrusted "$c" >> "$work/chain" 2>&1 \
            || certificates_ok=no
    done
    fingerprint=$(openssl x509 -in tsa-root.pem -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//')
    # shellcheck disable=SC2086
    if [ "$certificates_ok" = yes ] \
        && openssl ts -verify -token_in -in timestamp.tst -data checkpoint.txt -CAfile tsa-root.pem $untrusted \
            -attime "$at" -check_ss_sig > "$work/ts" 2>&1 && grep -q '^Verification: OK$' "$work/ts"; then
        grep '^Verification: OK$' "$work/ts"
        ok "8. a trusted timestamp says the checkpoint existed at $stamp_time (TSA root SHA-256 fingerprint $fingerprint: compare it with the one the authority publishes)"
    else
        grep -hv -e '^Using configuration' -e ': OK$' "$work/root" "$work/chain" "$work/ts" 2>/dev/null
        failed "8. the trusted timestamp does not verify for checkpoint.txt with tsa-root.pem"
    fi
else
    echo "--      8. no trusted timestamp in this package: the record's time is the signer's own statement"
fi

# message_check P LABEL: check 9 for the signed message whose files are named with
# the prefix P (P is empty, or "request-" for the request a response answers), its
# lines labelled LABEL. Leaves m_link, the link its event holds, if any.
message_check() {
    p=$1
    label=$2
    m_ok=yes
    m_why=
    m_detached=$(sed -n 's/^{"evidentia_signed_message":{"detached_payload":"\([A-Za-z0-9_-]*\)",.*/x\1/p' "${p}event.json")
    m_direction=$(sed -n 's/^{"evidentia_signed_message":{\("detached_payload":"[A-Za-z0-9_-]*",\)\{0,1\}"direction":"\([a-z]*\)",.*/\2/p' "${p}event.json")
    {
        printf '{"evidentia_signed_message":{'
        [ -z "$m_detached" ] || printf '"detached_payload":"%s",' "${m_detached#x}"
        printf '"direction":"%s","format":1,"jws":"' "$m_direction"
        json_string "${p}message.jws"
        printf '","keys":'
        cat "${p}message-keys.jwks"
    } > "$work/m-prefix" 2>/dev/null
    m_length=$(wc -c < "$work/m-prefix")
    m_link=$(tail -c +$((m_length + 1)) "${p}event.json" | sed -n 's/^,"link":{"record":"\(sha256:[0-9a-f]*\)","seq":\([0-9]*\)}.*/\1 \2/p')
    {
        cat "$work/m-prefix"
        [ -z "$m_link" ] || printf ',"link":{"record":"%s","seq":%s}' "${m_link% *}" "${m_link#* }"
        printf ',"provenance":'; cat "${p}message-provenance.json"
        printf ',"verification":'; cat "${p}message-verification.json"
        printf '}}'
    } > "$work/m-event" 2>/dev/null
    if ! cmp -s "$work/m-event" "${p}event.json" || [ -n "$(tr -d '\040-\377' < "${p}message.jws")" ]; then
        m_ok=no
        m_why="${p}message.jws, ${p}message-keys.jwks, ${p}message-provenance.json or ${p}message-verification.json is not what ${p}event.json records"
    fi
    m_result=$(member result < "${p}message-verification.json" 2>/dev/null)
    m_error=$(member error < "${p}message-verification.json" 2>/dev/null)
    m_recorded_alg=$(member alg < "${p}message-verification.json" 2>/dev/null)
    m_thumbprint=$(member key_thumbprint < "${p}message-verification.json" 2>/dev/null)
    m_verified_at=$(member verified_at < "${p}message-verification.json" 2>/dev/null)
    m_verifies=
    if [ "$m_ok" = yes ] && [ -f "${p}message-key.jwk" ]; then
        # The signing input, the payload and the signature, from message.jws: its
        # three parts, the payload base64url unless the header says "b64": false,
        # the detached payload of event.json when the middle part is empty.
        m_header=$(cut -d. -f1 "${p}message.jws" | b64url_decode | tr -d '\n')
        m_alg=$(printf '%s' "$m_header" | sed -n 's/.*"alg"[[:space:]]*:[[:space:]]*"\([A-Za-z0-9]*\)".*/\1/p')
        m_b64=yes
        printf '%s' "$m_header" | grep -q '"b64"[[:space:]]*:[[:space:]]*false' && m_b64=no
        m_middle=$(cut -d. -f2 "${p}message.jws")
        {
            cut -d. -f1 "${p}message.jws" | tr -d '\n'; printf .
            if [ -n "$m_middle" ]; then printf '%s' "$m_middle"
            elif [ "$m_b64" = yes ]; then printf '%s' "${m_detached#x}"
            else printf '%s' "${m_detached#x}" | b64url_decode; fi
        } > "$work/m-input"
        if [ -z "$m_middle" ]; then printf '%s' "${m_detached#x}" | b64url_decode
        elif [ "$m_b64" = yes ]; then printf '%s' "$m_middle" | b64url_decode
        else printf '%s' "$m_middle"; fi > "$work/m-payload"
        cut -d. -f3 "${p}message.jws" | tr -d '\n' | b64url_decode > "$work/m-raw"
        m_n=
        m_hash=
        m_opts=
        case $m_alg in
            ES256) m_n=32; m_hash=sha256 ;;
            ES384) m_n=48; m_hash=sha384 ;;
            ES512) m_n=66; m_hash=sha512 ;;
            RS256) m_hash=sha256 ;;
            PS256) m_hash=sha256; m_opts="-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha256" ;;
            PS384) m_hash=sha384; m_opts="-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:48 -sigopt rsa_mgf1_md:sha384" ;;
            EdDSA) ;;
            *) m_ok=no; m_why="${p}message.jws's algorithm is not one a partner may use" ;;
        esac
        if [ -n "$m_n" ]; then
            # ECDSA: R ‖ S of the field size each, in DER for OpenSSL.
            if [ "$(wc -c < "$work/m-raw")" -eq $((2 * m_n)) ]; then
                printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' \
                    "$(head -c "$m_n" "$work/m-raw" | hex)" "$(tail -c "$m_n" "$work/m-raw" | hex)" > "$work/m-asn1"
                openssl asn1parse -genconf "$work/m-asn1" -noout -out "$work/m-signature" >/dev/null 2>&1
            else
                : > "$work/m-signature"
                m_ok=no
            fi
        else
            cat "$work/m-raw" > "$work/m-signature"
        fi
        if ! cmp -s "$work/m-input" "${p}message-signing-input.txt" || ! cmp -s "$work/m-payload" "${p}message-payload.bin" \
            || ! cmp -s "$work/m-signature" "${p}message-signature.bin"; then
            m_ok=no
            m_why="${p}message-signing-input.txt, ${p}message-payload.bin or ${p}message-signature.bin is not ${p}message.jws's"
        elif [ "$m_alg" != "$m_recorded_alg" ]; then
            m_ok=no
            m_why="the JWS's alg is not the one recorded"
        fi
        # The key: one line, a key of the snapshot, and message-key.pem is OpenSSL's
        # PEM of the very key the JWK states (rebuilt from the JWK's members).
        m_kty=$(member kty < "${p}message-key.jwk")
        m_crv=$(member crv < "${p}message-key.jwk")
        m_x=$(member x < "${p}message-key.jwk")
        case $m_kty in
            EC)
                m_y=$(member y < "${p}message-key.jwk")
                m_print=$(printf '{"crv":"%s","kty":"EC","x":"%s","y":"%s"}' "$m_crv" "$m_x" "$m_y")
                case $m_crv in
                    P-256) m_curve=1.2.840.10045.3.1.7 ;;
                    P-384) m_curve=1.3.132.0.34 ;;
                    P-521) m_curve=1.3.132.0.35 ;;
                    *) m_curve=0.0 ;;
                esac
                printf 'asn1=SEQUENCE:spki\n[spki]\nalg=SEQUENCE:alg\nkey=FORMAT:HEX,BITSTRING:04%s%s\n[alg]\ntype=OID:1.2.840.10045.2.1\ncurve=OID:%s\n' \
                    "$(printf '%s' "$m_x" | b64url_decode | hex)" "$(printf '%s' "$m_y" | b64url_decode | hex)" "$m_curve" ;;
            RSA)
                m_e=$(member e < "${p}message-key.jwk")
                m_modulus=$(member n < "${p}message-key.jwk")
                m_print=$(printf '{"e":"%s","kty":"RSA","n":"%s"}' "$m_e" "$m_modulus")
                printf 'asn1=SEQUENCE:spki\n[spki]\nalg=SEQUENCE:alg\nkey=BITWRAP,SEQUENCE:rsa\n[alg]\ntype=OID:1.2.840.113549.1.1.1\nparams=NULL\n[rsa]\nn=INTEGER:0x%s\ne=INTEGER:0x%s\n' \
                    "$(printf '%s' "$m_modulus" | b64url_decode | hex)" "$(printf '%s' "$m_e" | b64url_decode | hex)" ;;
            OKP)
                m_print=$(printf '{"crv":"%s","kty":"OKP","x":"%s"}' "$m_crv" "$m_x")
                [ "$m_crv" = Ed25519 ] || m_x=
                printf 'asn1=SEQUENCE:spki\n[spki]\nalg=SEQUENCE:alg\nkey=FORMAT:HEX,BITSTRING:%s\n[alg]\ntype=OID:1.3.101.112\n' \
                    "$(printf '%s' "$m_x" | b64url_decode | hex)" ;;
            *) m_print= ;;
        esac > "$work/m-spki"
        rm -f "$work/m-pem"
        openssl asn1parse -genconf "$work/m-spki" -noout -out "$work/m-spki.der" >/dev/null 2>&1 \
            && openssl pkey -pubin -inform DER -in "$work/m-spki.der" -pubout > "$work/m-pem" 2>/dev/null
        m_key_thumbprint=$(printf '%s' "$m_print" | openssl dgst -sha256 -binary | b64url_encode)
        m_in_snapshot=$(jwk=$(cat "${p}message-key.jwk") awk 'BEGIN { k = ENVIRON["jwk"] }
            substr($0, 1, 9) == "{\"keys\":[" && (index($0, "[" k ",") || index($0, "," k ",") || index($0, "," k "]") || index($0, "[" k "]")) { found = 1 }
            END { print found ? "yes" : "no" }' "${p}message-keys.jwks")
        if [ "$m_ok" = yes ] && { [ -z "$m_print" ] || [ "$m_in_snapshot" != yes ] || [ "$(wc -l < "${p}message-key.jwk")" -ne 0 ] \
            || ! cmp -s "$work/m-pem" "${p}message-key.pem"; }; then
            m_ok=no
            m_why="${p}message-key.jwk is not a key of the snapshot, or ${p}message-key.pem is not that key as OpenSSL writes it"
        fi
        if [ "$m_ok" = yes ]; then
            # The partner's signature, by OpenSSL. A key whose JWK names another
            # algorithm verifies nothing else (SPEC §21.3).
            m_jwk_alg=$(member alg < "${p}message-key.jwk")
            if [ -n "$m_jwk_alg" ] && [ "$m_jwk_alg" != "$m_alg" ]; then
                m_verifies=no
            elif [ "$m_alg" = EdDSA ]; then
                openssl pkeyutl -verify -pubin -inkey "${p}message-key.pem" -rawin -in "${p}message-signing-input.txt" \
                    -sigfile "${p}message-signature.bin" > "$work/m-openssl" 2>&1 && m_verifies=yes || m_verifies=no
            else
                # shellcheck disable=SC2086
                openssl dgst -"$m_hash" $m_opts -verify "${p}message-key.pem" -signature "${p}message-signature.bin" \
                    "${p}message-signing-input.txt" > "$work/m-openssl" 2>&1 && m_verifies=yes || m_verifies=no
            fi
            if [ "$m_result" = valid ] && [ "$m_verifies" = yes ]; then
                if [ "$m_key_thumbprint" != "$m_thumbprint" ]; then
                    m_ok=no
                    m_why="${p}message-key.jwk is not the key that verified the message when it was recorded"
                else
                    echo "Verified OK"
                fi
            elif [ "$m_result" = valid ]; then
                m_ok=no
                m_why="the partner's $m_alg signature does not verify"
            elif [ "$m_verifies" = yes ]; then
                m_ok=no
                m_why="the message was recorded as invalid ($m_error), but its signature verifies"
            fi
        fi
    elif [ "$m_ok" = yes ] && [ "$m_result" = valid ]; then
        m_ok=no
        m_why="${p}message-key.jwk is missing"
    fi
    if [ "$m_ok" = no ]; then
        failed "$label. the partner's signed message: ${m_why:-its files do not derive from ${p}message.jws}"
    elif [ "$m_result" = valid ]; then
        ok "$label. the partner's $m_alg signature verifies with the snapshot key $m_thumbprint, as recorded at $m_verified_at"
    elif [ -n "$m_verifies" ]; then
        ok "$label. the partner's $m_alg signature does NOT verify with the key $m_key_thumbprint, as recorded: invalid ($m_error)"
    else
        ok "$label. the partner's signature does NOT verify, as recorded: invalid ($m_error); no key of the snapshot is chosen for it"
    fi
}
# 9. Only when event.json is a signed message of another party (SPEC §21): the
#    message files hold exactly what event.json (which the receipt covers, 7) holds,
#    and OpenSSL checks the partner's signature. event.json is rebuilt from them:
#    {"evidentia_signed_message":{ ["detached_payload":"…",] "direction":"…",
#    "format":1,"jws": message.jws as a JSON string ,"keys": message-keys.jwks
#    [,"link":{…}] ,"provenance": message-provenance.json ,"verification":
#    message-verification.json }}
m_link=
if [ "$(head -c 29 event.json 2>/dev/null)" = '{"evidentia_signed_message":{' ]; then
    message_check "" 9
fi

# 10. Only when the message answers an earlier record (its event holds a link): the
#     package holds that record's evidence under the prefix request-, and the link
#     names it exactly. request-receipt.jws is signed by the same key (its parts are
#     request-signing-input.txt, request-signature.der and request-record.json), of
#     the same log, at the linked seq, and the SHA-256 of request-record.json is the
#     linked digest; request-event.json is its event; request-inclusion-proof.json
#     leads from it to the same checkpoint's root; and when the request is itself a
#     signed message, check 9 runs on its request-message* files (10b).
response_link=$m_link
if [ -n "$response_link" ]; then
    r_ok=yes
    r_why=
    cut -d. -f1,2 request-receipt.jws 2>/dev/null | tr -d '\n' > "$work/r-input"
    cut -d. -f3 request-receipt.jws 2>/dev/null | tr -d '\n' | b64url_decode > "$work/r-raw"
    printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' \
        "$(head -c 32 "$work/r-raw" | hex)" "$(tail -c 32 "$work/r-raw" | hex)" > "$work/r-asn1"
    rm -f "$work/r-der"
    openssl asn1parse -genconf "$work/r-asn1" -noout -out "$work/r-der" >/dev/null 2>&1
    cut -d. -f2 request-receipt.jws 2>/dev/null | tr -d '\n' | b64url_decode > "$work/r-record"
    r_seq=$(number seq < request-record.json 2>/dev/null)
    if [ "$(wc -c < "$work/r-raw")" -ne 64 ] || ! cmp -s "$work/r-input" request-signing-input.txt \
        || ! cmp -s "$work/r-der" request-signature.der || ! cmp -s "$work/r-record" request-record.json; then
        r_ok=no
        r_why="request-signing-input.txt, request-signature.der or request-record.json is not request-receipt.jws's"
    elif ! openssl dgst -sha256 -verify public-key.pem -signature request-signature.der request-signing-input.txt; then
        r_ok=no
        r_why="the signature over request-receipt.jws does not verify with the key"
    elif [ "$(member kid < request-record.json)" != "$kid" ] \
        || [ "$(string_member log_id < request-record.json)" != "$log_id" ]; then
        r_ok=no
        r_why="request-record.json is not a record of this log signed with this key"
    elif [ "$r_seq" != "${response_link#* }" ] || [ "sha256:$(sha256_hex < request-record.json)" != "${response_link% *}" ] \
        || [ "$r_seq" -ge "$(number seq < record.json)" ]; then
        r_ok=no
        r_why="the message's link (record ${response_link#* }, ${response_link% *}) does not name request-record.json, an earlier record"
    elif [ "sha256:$(sha256_hex < request-event.json)" != "$(member event < request-record.json)" ]; then
        r_ok=no
        r_why="request-event.json is not the event request-record.json commits to"
    else
        inclusion request-record.json request-inclusion-proof.json
        if [ "$proof_ok" != yes ]; then
            r_ok=no
            r_why="request-inclusion-proof.json does not lead from request-record.json to the checkpoint's root"
        fi
    fi
    if [ "$r_ok" = yes ]; then
        ok "10. the message answers record $r_seq of this log (${response_link% *}), signed by the key and in the checkpoint"
    else
        failed "10. the record the message answers: $r_why"
    fi
    if [ "$(head -c 29 request-event.json 2>/dev/null)" = '{"evidentia_signed_message":{' ]; then
        message_check request- 10b
    fi
fi

# 11. Only when the package holds key records (SPEC §19, §23): keys.jwks is the key
#     set the log itself last signed, not a file its maker could edit. Trust starts
#     at the record's own key; key-record-1, key-record-2, … follow the record in the
#     log, each signed by the key reached so far (key-record-N-key.pem, whose
#     thumbprint its record names): through its receipt (receipts mode), or its
#     batch receipt, whose own checkpoint that key signed (batch mode). A rotation
#     is signed by the key it hands over from and hands over to its "next"; a
#     revocation is signed by the key reached, never the key it revokes. The last
#     one's key set is byte for byte keys.jwks.
# key_record_file FILE: sets m to the number of the key record FILE is a file of
# (key-record-M.json, key-record-M-event.json, …; M is 1 to 99, no leading zero) and
# part to which of its files (.json, -event.json, …); both empty for another name.
key_record_file() {
    m=$(printf '%s' "$1" | sed -n 's/^key-record-\([1-9][0-9]\{0,1\}\)[.-].*/\1/p')
    part=${1#key-record-$m}
    case $part in
        .json | -event.json | -key.pem | -receipt.jws | -signing-input.txt | -signature.der | -batch-receipt.json \
            | -checkpoint.txt | -checkpoint-body.txt | -inclusion-proof.json) [ -n "$m" ] || part= ;;
        *) m= part= ;;
    esac
}
k_any=no
for f in key-record-*; do
    key_record_file "$f"
    [ ! -e "$f" ] || [ -z "$m" ] || k_any=yes
done
if [ "$k_any" = yes ]; then
    k_ok=yes
    k_why=
    [ -f key-record-1.json ] || { k_ok=no; k_why="key-record-1.json is missing"; }
    # A rotation's own package starts after the hand-over it records.
    own_rotation
    current=${own_next:-$(member kid < record.json)}
    previous=$(number seq < record.json)
    if [ -f receipt.jws ]; then
        k_parts="-receipt.jws -signing-input.txt -signature.der"
    else
        k_parts="-batch-receipt.json -checkpoint.txt -checkpoint-body.txt -inclusion-proof.json"
    fi
    n=0
    k_summary=
    while [ "$k_ok" = yes ] && [ "$n" -lt 99 ] && [ -f "key-record-$((n + 1)).json" ]; do
        n=$((n + 1))
        p=key-record-$n
        for part in -event.json -key.pem $k_parts; do
            [ -f "$p$part" ] || { k_ok=no; k_why="$p$part is missing"; break; }
        done
        [ "$k_ok" = yes ] || break
        k_kid=$(member kid < "$p.json")
        k_seq=$(number seq < "$p.json")
        case "$k_seq $previous" in
            " "* | *" " | ????????????????*" "* | *" "????????????????*) k_seq=0 previous=0 ;;
        esac
        if [ "$(string_member log_id < "$p.json")" != "$log_id" ]; then
            k_why="$p.json is a record of another log"
        elif [ "$k_seq" -le "$previous" ]; then
            k_why="$p.json does not follow the record before it in the log"
        elif [ "$k_kid" != "$current" ]; then
            k_why="$p.json is signed by $k_kid, not by $current, the key the history has reached"
        elif [ "sha256:$(sha256_hex < "$p-event.json")" != "$(member event < "$p.json")" ]; then
            k_why="$p-event.json is not the event $p.json commits to"
        elif [ "$(pem_kid "$p-key.pem")" != "$current" ]; then
            k_why="$p-key.pem is not the canonical PEM of the key $current"
        elif [ -f receipt.jws ]; then
            cut -d. -f1,2 "$p-receipt.jws" | tr -d '\n' > "$work/k-input"
            cut -d. -f3 "$p-receipt.jws" | tr -d '\n' | b64url_decode > "$work/k-raw"
            printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' \
                "$(head -c 32 "$work/k-raw" | hex)" "$(tail -c 32 "$work/k-raw" | hex)" > "$work/k-asn1"
            rm -f "$work/k-der"
            openssl asn1parse -genconf "$work/k-asn1" -noout -out "$work/k-der" >/dev/null 2>&1
            cut -d. -f2 "$p-receipt.jws" | tr -d '\n' | b64url_decode > "$work/k-record"
            if ! jws_form "$p-receipt.jws" || [ "$(wc -c < "$work/k-raw")" -ne 64 ] \
                || ! cmp -s "$work/k-input" "$p-signing-input.txt" \
                || ! cmp -s "$work/k-der" "$p-signature.der" || ! cmp -s "$work/k-record" "$p.json"; then
                k_why="$p-signing-input.txt, $p-signature.der or $p.json is not $p-receipt.jws's"
            elif ! openssl dgst -sha256 -verify "$p-key.pem" -signature "$p-signature.der" "$p-signing-input.txt"; then
                k_why="the signature over $p-receipt.jws does not verify"
            fi
        else
            {
                printf '{"checkpoint":"'; json_string "$p-checkpoint.txt"
                printf '","proof":'; cat "$p-inclusion-proof.json"
                printf ',"record":"'; json_string "$p.json"
                printf '","type":"evidentia-batch-receipt","v":1}'
            } > "$work/k-batch" 2>/dev/null
            note_signed "$p-checkpoint.txt" "$p-checkpoint-body.txt" "$p-key.pem"
            if ! cmp -s "$work/k-batch" "$p-batch-receipt.json"; then
                k_why="$p-batch-receipt.json is not the batch receipt of its parts"
            elif [ "$note_ok" != yes ]; then
                k_why="$p-checkpoint.txt is not signed by $p-key.pem for this log"
            else
                inclusion "$p.json" "$p-inclusion-proof.json" "$p-checkpoint-body.txt"
                [ "$proof_ok" = yes ] || k_why="$p-inclusion-proof.json does not lead from $p.json to the root of $p-checkpoint-body.txt"
            fi
        fi
        if [ -z "$k_why" ]; then
            key_event "$p-event.json"
            if [ -z "$k_change" ]; then
                k_why="$p-event.json is not a key record's one line"
            elif [ "$k_change" = rotate ] && [ "$k_changed" = "$current" ]; then
                k_summary="$k_summary; record $k_seq: $current handed over to $k_next"
                current=$k_next
            elif [ "$k_change" = revoke ] && [ "$k_changed" != "$current" ]; then
                k_summary="$k_summary; record $k_seq: $current revoked $k_changed"
            else
                [ "$k_change" = rotate ] && k_change=rotation || k_change=revocation
                k_why="the key $current may not sign $p.json's $k_change of $k_changed"
            fi
        fi
        [ -z "$k_why" ] || k_ok=no
        previous=$k_seq
    done
    if [ "$k_ok" = yes ] && ! cmp -s "$work/k-keys" keys.jwks; then
        k_ok=no
        k_why="keys.jwks is not the key set key-record-$n.json signed"
    fi
    # Every file of a key record belongs to one that was read, and is one of its
    # mode's files (a file that is not of any key record is check 1's).
    for f in key-record-*; do
        key_record_file "$f"
        [ "$k_ok" = yes ] && [ -e "$f" ] && [ -n "$m" ] || continue
        case " .json -event.json -key.pem $k_parts " in
            *" $part "*) [ "$m" -le "$n" ] && continue ;;
        esac
        k_ok=no
        k_why="$f belongs to no key record of this package"
    done
    if [ "$k_ok" = yes ]; then
        ok "11. keys.jwks is the key set of the log's key records:${k_summary#;}"
    else
        failed "11. the key history: $k_why"
    fi
else
    echo "--      11. no key record follows the record in this package: keys.jwks is the maker's statement beyond the record's key"
fi

# 12. Only when the package holds cosigned-checkpoint.txt or witness-policy.txt
#     (SPEC §19, §22): witnesses vouch for the checkpoint. witness-policy.txt is a
#     C2SP tlog-policy; cosigned-checkpoint.txt is checkpoint-body.txt, an empty
#     line and signature lines; a log of the policy whose key name is the origin
#     signed it, every line of a policy key verifies (an Ed25519 cosignature over
#     "cosignature/v1", "time T" and the checkpoint text), and the witnesses whose
#     cosignatures verified meet the quorum. The policy is the package maker's
#     statement: compare it, by the SHA-256 shown, with the policy you trust.
# vkey_read VKEY: splits a note verifier key <name>+<8 lowercase hex>+<base64> into
# v_name, v_id, v_type (two hex digits) and $work/v-key (the key's bytes after the
# type byte); v_type is empty when the key is malformed (base64 that is not
# canonical, a key ID that is not 8 lowercase hex digits, an empty name).
vkey_read() {
    v_name=${1%%+*}
    v_rest=${1#*+}
    v_id=${v_rest%%+*}
    v_b64=${v_rest#*+}
    v_type=
    : > "$work/v-key"
    case "$1" in *+*+*) ;; *) return 0 ;; esac
    case "$v_id" in *[!0-9a-f]* | "") return 0 ;; esac
    key_name "$v_name" && [ ${#v_id} -eq 8 ] || return 0
    printf '%s' "$v_b64" | openssl base64 -d -A > "$work/v-all" 2>/dev/null || return 0
    [ "$(openssl base64 -A < "$work/v-all")" = "$v_b64" ] && [ -s "$work/v-all" ] || return 0
    v_type=$(head -c 1 "$work/v-all" | hex)
    tail -c +2 "$work/v-all" > "$work/v-key"
}
# utf8_text FILE: whether FILE is UTF-8 (RFC 3629: shortest forms, no surrogates,
# nothing beyond U+10FFFF), read byte by byte.
utf8_text() {
    od -An -v -tu1 < "$1" | awk '{
        for (i = 1; i <= NF; i++) {
            b = $i + 0
            if (need > 0) {
                if (b < lo || b > hi) exit 1
                need--; lo = 128; hi = 191; continue
            }
            if (b < 128) continue
            lo = 128; hi = 191
            if (b >= 194 && b <= 223) need = 1
            else if (b == 224) { need = 2; lo = 160 }
            else if (b == 237) { need = 2; hi = 159 }
            else if (b >= 225 && b <= 239) need = 2
            else if (b == 240) { need = 3; lo = 144 }
            else if (b >= 241 && b <= 243) need = 3
            else if (b == 244) { need = 3; hi = 143 }
            else exit 1
        }
    } END { if (need > 0) exit 1 }'
}
# key_name NAME: whether NAME may name a note key (SPEC §10): not empty, without a
# space, "+" or control character, U+0080 to U+009F included (UTF-8 C2 80 to C2 9F).
key_name() {
    case $1 in "" | *[[:space:]+[:cntrl:]]*) return 1 ;; esac
    ! printf '%s' "$1" | od -An -v -tx1 | tr -s ' \n' '\n\n' | awk 'c2 && /^[89]/ { f = 1 } { c2 = ($1 == "c2") } END { exit !f }'
}
# ed25519_id NAME TYPE FILE: the key ID of an Ed25519 key, SHA-256(NAME, a line
# feed, the type byte, the key)[:4] in hex.
ed25519_id() {
    { printf '%s\n' "$1"; printf "\\$(printf '%03o' "0x$2")"; cat "$3"; } | openssl dgst -sha256 -binary | head -c 4 | hex
}
# ed25519_pem FILE OUT: the 32-byte Ed25519 key in FILE as a PEM public key in OUT
# (its DER is a fixed 12-byte prefix and the key).
ed25519_pem() {
    { printf '\060\052\060\005\006\003\053\145\160\003\041\000'; cat "$1"; } > "$work/ed-der"
    openssl pkey -pubin -inform DER -in "$work/ed-der" -out "$2" 2>/dev/null
}
if [ -e cosigned-checkpoint.txt ] || [ -e witness-policy.txt ]; then
    w_why=
    w_cosigned=
    origin=$(sed -n 1p checkpoint-body.txt 2>/dev/null)
    if [ ! -f cosigned-checkpoint.txt ] || [ ! -f witness-policy.txt ]; then
        w_why="cosigned-checkpoint.txt and witness-policy.txt come together; the package has one of them"
    else
        body_length=$(wc -c < checkpoint-body.txt)
        head -c "$body_length" cosigned-checkpoint.txt > "$work/w-body"
        tail -c +$((body_length + 1)) cosigned-checkpoint.txt | head -c 1 | hex > "$work/w-blank"
        tail -c +$((body_length + 2)) cosigned-checkpoint.txt > "$work/w-lines"
        if ! cmp -s "$work/w-body" checkpoint-body.txt || [ "$(cat "$work/w-blank")" != 0a ] \
            || [ "$(tail -c 1 cosigned-checkpoint.txt | hex)" != 0a ] || [ ! -s "$work/w-lines" ] \
            || grep -q -v '^— [^ +[:cntrl:]][^ +[:cntrl:]]* [A-Za-z0-9+/][A-Za-z0-9+/]*=*$' "$work/w-lines" \
            || [ "$(wc -l < "$work/w-lines")" -gt 100 ] || [ "$(wc -c < cosigned-checkpoint.txt)" -gt 65536 ] \
            || ! utf8_text cosigned-checkpoint.txt \
            || ! awk '{ print $2 }' "$work/w-lines" | while read -r name; do key_name "$name" || exit 1; done; then
            w_why="cosigned-checkpoint.txt is not checkpoint-body.txt, an empty line and signature lines"
        fi
    fi
    # The policy, line by line (c2sp.org/tlog-policy), into $work/w-policy: one
    # "log VKEY", "witness NAME VKEY" or "group NAME K MEMBER..." line each (K a
    # number), and "quorum NAME"; or, on $work/w-policy-error, why it is malformed.
    if [ -z "$w_why" ]; then
        if [ "$(wc -c < witness-policy.txt)" -gt 65536 ] || ! tr -d '\000' < witness-policy.txt | cmp -s - witness-policy.txt \
            || ! utf8_text witness-policy.txt; then
            w_why="witness-policy.txt is larger than 64 KiB or not UTF-8 text"
        elif ! awk '
            function fail(why) { printf "witness-policy.txt line %d: %s\n", NR, why; bad = 1; exit 1 }
            {
                if ($0 ~ /[\001-\010\012-\037\177]/) fail("the only control characters allowed are tab and newline")
                n = split($0, f, /[ \t]+/); if (n > 0 && f[n] == "") n--
                if (n > 0 && f[1] == "") { for (i = 1; i < n; i++) f[i] = f[i + 1]; n-- }
                if (n == 0 || substr(f[1], 1, 1) == "#") next
                if (f[1] == "log") {
                    if (n != 2 && n != 3) fail("a log line has the wrong number of fields")
                    if (++logs > 256) fail("more than 256 logs")
                    print "log " f[2]
                } else if (f[1] == "witness") {
                    if (n != 3 && n != 4) fail("a witness line has the wrong number of fields")
                    if (f[2] == "none") fail("none is predefined")
                    if (f[2] in kind) fail("a name is defined twice")
                    kind[f[2]] = "w"; depth[f[2]] = 0
                    if (++witnesses > 256) fail("more than 256 witnesses")
                    print "witness " f[2] " " f[3]
                } else if (f[1] == "group") {
                    if (n < 4) fail("a group line has the wrong number of fields")
                    if (f[2] == "none") fail("none is predefined")
                    if (f[2] in kind) fail("a name is defined twice")
                    members = n - 3; deepest = 0
                    for (i = 4; i <= n; i++) {
                        if (!(f[i] in kind)) fail("a member is not a witness or group defined on an earlier line")
                        if (f[i] in used) fail("a name is a group member at most once")
                        used[f[i]] = 1; if (depth[f[i]] > deepest) deepest = depth[f[i]]
                    }
                    if (f[3] == "any") k = 1
                    else if (f[3] == "all") k = members
                    else if (f[3] ~ /^[1-9][0-9]*$/ && length(f[3]) < 10 && f[3] + 0 <= members) k = f[3] + 0
                    else fail("a group threshold is any, all or a number from 1 to its member count")
                    if (deepest + 1 > 32) fail("groups are nested deeper than 32")
                    kind[f[2]] = "g"; depth[f[2]] = deepest + 1
                    if (++groups > 256) fail("more than 256 groups")
                    line = "group " f[2] " " k; for (i = 4; i <= n; i++) line = line " " f[i]; print line
                } else if (f[1] == "quorum") {
                    if (n != 2) fail("a quorum line has the wrong number of fields")
                    if (quorum++) fail("a policy has exactly one quorum line")
                    if (f[2] != "none" && !(f[2] in kind)) fail("the quorum is not a witness or group defined on an earlier line")
                    print "quorum " f[2]
                } else fail("unknown line kind")
            }
            END { if (!bad && !quorum) { print "witness-policy.txt has no quorum line"; exit 1 } }' \
            witness-policy.txt > "$work/w-policy"; then
            w_why=$(grep -v '^log \|^witness \|^group \|^quorum ' "$work/w-policy" | head -n 1)
        fi
    fi
    # The policy's keys: each log's type, key name, key ID and key (logs named as
    # the origin only; a log's key read as another log's or a witness's is refused).
    if [ -z "$w_why" ]; then
        : > "$work/w-keys"
        n_log=0
        while read -r w_kind w_a w_b; do
            case $w_kind in log) vkey=$w_a ;; witness) vkey=$w_b ;; *) continue ;; esac
            vkey_read "$vkey"
            v_hex=$(hex < "$work/v-key")
            case "$w_kind:$v_type" in
                log:01 | witness:04)
                    if [ "$(wc -c < "$work/v-key")" -ne 32 ] || [ "$(ed25519_id "$v_name" "$v_type" "$work/v-key")" != "$v_id" ] \
                        || ! ed25519_pem "$work/v-key" "$work/w-key-$v_hex.pem"; then
                        w_why="witness-policy.txt: the key $vkey is not an Ed25519 key of its name and key ID"
                    fi
                    ;;
                log:02)
                    if ! openssl pkey -pubin -inform DER -in "$work/v-key" -out "$work/w-key-$v_hex.pem" 2>/dev/null \
                        || [ "$(openssl pkey -pubin -in "$work/w-key-$v_hex.pem" -outform DER | hex)" != "$v_hex" ] \
                        || [ "${v_hex#3059301306072a8648ce3d020106082a8648ce3d03010703420004}" = "$v_hex" ] \
                        || [ "$(wc -c < "$work/v-key")" -ne 91 ] \
                        || [ "$(openssl dgst -sha256 -binary < "$work/v-key" | head -c 4 | hex)" != "$v_id" ]; then
                        w_why="witness-policy.txt: the key $vkey is not an uncompressed P-256 key of its key ID"
                    fi
                    ;;
                *) w_why="witness-policy.txt: the $w_kind key $vkey is malformed or of another signature type" ;;
            esac
            [ -z "$w_why" ] || break
            # The same key twice among logs or among witnesses, or a witness that is a
            # log (the same key, or the log's name as its name or key name).
            if [ "$w_kind" = log ]; then
                n_log=$((n_log + 1))
                if grep -q "^log [^ ]* [^ ]* [^ ]* $v_hex\$" "$work/w-keys"; then
                    w_why="witness-policy.txt: the same log key is listed twice"
                elif k=$v_hex n=$v_name awk '$1 == "witness" && ($5 == ENVIRON["k"] || $2 == ENVIRON["n"] || $3 == ENVIRON["n"]) { f = 1 } END { exit !f }' "$work/w-keys"; then
                    w_why="witness-policy.txt: a witness is a log of the policy (the same key or name): a log cannot witness itself"
                fi
                printf 'log %s %s %s %s\n' "$v_type" "$v_name" "$v_id" "$v_hex" >> "$work/w-keys"
            else
                if grep -q "^witness [^ ]* [^ ]* [^ ]* $v_hex\$" "$work/w-keys"; then
                    w_why="witness-policy.txt: the same witness key is listed twice"
                elif k=$v_hex n=$v_name w=$w_a awk '$1 == "log" && ($5 == ENVIRON["k"] || $3 == ENVIRON["n"] || $3 == ENVIRON["w"]) { f = 1 } END { exit !f }' "$work/w-keys"; then
                    w_why="witness-policy.txt: a witness is a log of the policy (the same key or name): a log cannot witness itself"
                fi
                printf 'witness %s %s %s %s\n' "$w_a" "$v_name" "$v_id" "$v_hex" >> "$work/w-keys"
            fi
            [ -z "$w_why" ] || break
        done < "$work/w-policy"
        [ -n "$w_why" ] || o=$origin awk '$1 == "log" && $3 == ENVIRON["o"] { f = 1 } END { exit !f }' "$work/w-keys" \
            || w_why="witness-policy.txt has no log key for the origin $origin"
    fi
    # Every signature line of a policy key verifies: a log's (named as the origin)
    # over checkpoint-body.txt, a witness's as a cosignature; a log of the origin
    # signed; $work/w-met lists the witnesses (policy names) that cosigned.
    if [ -z "$w_why" ]; then
        : > "$work/w-met"
        log_signed=no
        w_times=
        while read -r dash line_name line_sig; do
            printf '%s' "$line_sig" | openssl base64 -d -A > "$work/w-sig" 2>/dev/null
            if [ "$(openssl base64 -A < "$work/w-sig")" != "$line_sig" ] || [ "$(wc -c < "$work/w-sig")" -lt 5 ]; then
                w_why="cosigned-checkpoint.txt has a signature line that is not base64 of a key ID and a signature"
                break
            fi
            line_id=$(head -c 4 "$work/w-sig" | hex)
            tail -c +5 "$work/w-sig" > "$work/w-sig-rest"
            while read -r w_kind w_a w_b w_c w_d; do
                if [ "$w_kind" = log ] && [ "$w_b" = "$line_name" ] && [ "$w_b" = "$origin" ] && [ "$w_c" = "$line_id" ]; then
                    if [ "$w_a" = 01 ]; then
                        openssl pkeyutl -verify -pubin -inkey "$work/w-key-$w_d.pem" -rawin -in checkpoint-body.txt \
                            -sigfile "$work/w-sig-rest" > /dev/null 2>&1 && log_signed=yes || w_why="the signature of the policy's log key $w_b does not verify"
                    else
                        openssl dgst -sha256 -verify "$work/w-key-$w_d.pem" -signature "$work/w-sig-rest" checkpoint-body.txt \
                            > /dev/null 2>&1 && log_signed=yes || w_why="the signature of the policy's log key $w_b does not verify"
                    fi
                elif [ "$w_kind" = witness ] && [ "$w_b" = "$line_name" ] && [ "$w_c" = "$line_id" ]; then
                    # A timestamp (8 bytes, big-endian, at most 2^63 - 1) and a signature.
                    time_hex=$(head -c 8 "$work/w-sig-rest" | hex)
                    case $time_hex in [0-7]???????????????) ;; *) time_hex= ;; esac
                    if [ "$(wc -c < "$work/w-sig-rest")" -ne 72 ] || [ -z "$time_hex" ]; then
                        w_why="the cosignature of $w_b is not a timestamp and an Ed25519 signature"
                    else
                        w_time=$(printf '%d' "0x$time_hex")
                        tail -c 64 "$work/w-sig-rest" > "$work/w-cosig"
                        { printf 'cosignature/v1\ntime %s\n' "$w_time"; cat checkpoint-body.txt; } > "$work/w-message"
                        if openssl pkeyutl -verify -pubin -inkey "$work/w-key-$w_d.pem" -rawin -in "$work/w-message" \
                            -sigfile "$work/w-cosig" > /dev/null 2>&1; then
                            if ! grep -q -x -F -e "$w_a" "$work/w-met"; then
                                printf '%s\n' "$w_a" >> "$work/w-met"
                                w_times="$w_times, $w_a at $w_time"
                            fi
                        else
                            w_why="the cosignature of witness key $w_b does not verify"
                        fi
                    fi
                fi
                [ -z "$w_why" ] || break
            done < "$work/w-keys"
            [ -z "$w_why" ] || break
        done < "$work/w-lines"
        [ -n "$w_why" ] || [ "$log_signed" = yes ] || w_why="no log key of witness-policy.txt for $origin signed cosigned-checkpoint.txt"
    fi
    # The quorum: groups in order, each met when at least K of its members are.
    if [ -z "$w_why" ]; then
        w_policy_sha256=$(sha256_hex < witness-policy.txt)
        if met="$work/w-met" awk '
            BEGIN { while ((getline name < ENVIRON["met"]) > 0) ok[name] = 1 }
            $1 == "group" { c = 0; for (i = 4; i <= NF; i++) if ($i in ok) c++; if (c >= $3) ok[$2] = 1 }
            $1 == "quorum" { q = $2 }
            END { exit !(q == "none" || q in ok) }' "$work/w-policy"; then
            ok "12. the checkpoint is cosigned by witnesses of witness-policy.txt (SHA-256 $w_policy_sha256)${w_times:+:${w_times#,}}, meeting its quorum: compare the policy with the one you trust"
        else
            w_list=${w_times#, }
            w_why="the cosignatures (${w_list:-none}) do not meet the quorum of witness-policy.txt (SHA-256 $w_policy_sha256)"
        fi
    fi
    [ -z "$w_why" ] || failed "12. the witnesses: $w_why"
fi

# 13. Only when the package holds disclosures.txt (SPEC §19, §26): the members it
#     shows belong to the event the record commits to. event.json (check 7) is
#     then a commitment document, {"_sd":[digests],"_sd_alg":"sha-256"}, the
#     digests base64url. Each line of disclosures.txt is a disclosure: base64url of
#     the JSON array [salt, member name, value]; its SHA-256 in base64url must be a
#     digest event.json lists, and no line may come twice. A member not disclosed
#     cannot be recovered from its digest, which hides a random salt. Each
#     disclosure is shown decoded.
if [ -e disclosures.txt ]; then
    d_why=
    d_sd=$(sed -n 's/^{"_sd":\[\(.*\)\],"_sd_alg":"sha-256"}$/\1/p' event.json)
    printf '%s' "$d_sd" | tr ',' '\n' | sed 's/^"\(.*\)"$/\1/' > "$work/d-listed"
    if [ "$(cat record.json 2>/dev/null | number v)" != 2 ]; then
        d_why="record.json is not a record of version 2, whose event is committed member by member"
    elif [ "$(wc -l < event.json)" -ne 0 ] || [ "$(printf '{"_sd":[%s],"_sd_alg":"sha-256"}' "$d_sd")" != "$(cat event.json)" ] \
        || grep -q -v -x '[A-Za-z0-9_-]\{42\}[AEIMQUYcgkosw048]' "$work/d-listed" \
        || ! LC_ALL=C sort -c -u "$work/d-listed" 2>/dev/null; then
        d_why="event.json is not a commitment document (digests of 32 bytes in base64url, sorted, each once)"
    elif [ ! -s disclosures.txt ] || [ "$(tail -c 1 disclosures.txt | hex)" != 0a ] \
        || grep -q -v -x '[A-Za-z0-9_-][A-Za-z0-9_-]*' disclosures.txt \
        || ! tr -d '\000\r' < disclosures.txt | cmp -s - disclosures.txt; then
        d_why="disclosures.txt is not lines of base64url, each ending in a line feed"
    elif [ -n "$(sort disclosures.txt | uniq -d)" ]; then
        d_why="disclosures.txt lists a disclosure twice"
    fi
    d_count=0
    if [ -z "$d_why" ]; then
        while IFS= read -r d_line; do
            d_count=$((d_count + 1))
            d_digest=$(printf '%s' "$d_line" | openssl dgst -sha256 -binary | b64url_encode)
            if ! grep -q -x -F -e "$d_digest" "$work/d-listed"; then
                d_why="disclosure $d_count (SHA-256 $d_digest) is not one event.json lists"
                break
            fi
            printf '        disclosed: %s\n' "$(printf '%s' "$d_line" | b64url_decode | head -c 300 | tr -d '\000-\037')"
        done < disclosures.txt
    fi
    if [ -z "$d_why" ]; then
        d_total=$(grep -c . "$work/d-listed")
        ok "13. the $d_count disclosed member(s) are members of the event the record commits to; $((d_total - d_count)) of its $d_total stay hidden"
    else
        failed "13. the disclosures: $d_why"
    fi
fi

# 14. Only when the package holds erasure-record.json, erasure-event.json or
#     erasure-inclusion-proof.json, which come together (SPEC §19, §27): the event was
#     erased by a later record of the same log, in the same checkpoint. The package
#     holds no event.json; record.json is of version 2; erasure-record.json is a
#     record of the same log, after it, of version 1, whose event is
#     erasure-event.json; that event is the erasure statement naming record.json by
#     its seq and SHA-256, exactly
#     {"evidentia_erasure":{"format":1,"reason":"...","record":"sha256:<hex>","seq":<seq>}};
#     keys.jwks lists the key erasure-record.json names as in force at its time (as
#     check 3 for the record); and erasure-inclusion-proof.json leads from erasure-record.json to the root of
#     checkpoint-body.txt (as check 5).
if [ -e erasure-record.json ] || [ -e erasure-event.json ] || [ -e erasure-inclusion-proof.json ]; then
    e_why=
    e_seq=$(number seq < erasure-record.json)
    e_event=$(cat erasure-event.json 2>/dev/null)
    e_head='{"evidentia_erasure":{"format":1,"reason":"'
    e_tail="\",\"record\":\"sha256:$(sha256_hex < record.json)\",\"seq\":$(number seq < record.json)}}"
    e_reason=${e_event#"$e_head"}
    e_reason=${e_reason%"$e_tail"}
    if [ ! -e erasure-record.json ] || [ ! -e erasure-event.json ] || [ ! -e erasure-inclusion-proof.json ]; then
        e_why="erasure-record.json, erasure-event.json and erasure-inclusion-proof.json come together"
    elif [ -e event.json ]; then
        e_why="the package holds event.json and an erasure: a package shows an event or its erasure"
    elif [ "$(number v < record.json)" != 2 ]; then
        e_why="record.json is not a record of version 2, the only version whose event can be erased"
    elif [ "$(string_member log_id < erasure-record.json)" != "$(string_member log_id < record.json)" ] \
        || [ -z "$e_seq" ] || [ "${#e_seq}" -gt 15 ] || [ "$e_seq" -le "$(number seq < record.json)" ]; then
        e_why="erasure-record.json is not a later record of the same log"
    elif [ "$(number v < erasure-record.json)" != 1 ] \
        || [ "sha256:$(sha256_hex < erasure-event.json)" != "$(member event < erasure-record.json)" ]; then
        e_why="erasure-event.json is not the event erasure-record.json commits to"
    elif [ "$(wc -l < erasure-event.json)" -ne 0 ] || [ "$e_head$e_reason$e_tail" != "$e_event" ] \
        || [ "$e_reason" = "$e_event" ] || [ -z "$e_reason" ]; then
        e_why="erasure-event.json is not the erasure of record.json (its seq and SHA-256)"
    elif [ "$(in_force "$(member kid < erasure-record.json)" "$(member time < erasure-record.json)")" != yes ]; then
        e_why="keys.jwks does not list the key erasure-record.json names as in force at its time"
    else
        inclusion erasure-record.json erasure-inclusion-proof.json
        [ "$proof_ok" = yes ] \
            || e_why="erasure-inclusion-proof.json does not lead from erasure-record.json to the checkpoint's root"
    fi
    if [ -z "$e_why" ]; then
        # The reason as the log recorded it: canonical JSON escapes only \" and \\ in
        # it (a reason holds no control character).
        printf '        erased by record %s at %s, reason: %s\n' "$e_seq" "$(member time < erasure-record.json)" \
            "$(printf '%s' "$e_reason" | sed 's/\\\(.\)/\1/g' | tr -d '\000-\037')"
        ok "14. the event was erased by record $e_seq of the log, in the same checkpoint"
    else
        failed "14. the erasure: $e_why"
    fi
fi

echo
if [ "$failures" -eq 0 ]; then
    echo "VERDICT: VALID — every check passed"
    exit 0
fi
echo "VERDICT: INVALID — $failures check(s) failed"
exit 1
