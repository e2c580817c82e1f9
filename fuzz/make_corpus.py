#!/usr/bin/env python3
"""Writes the seed corpora of the rpc and oci fuzz targets under fuzz/corpus/<target>/ from the
spec test vectors (tests/rpc/vectors.h, actor-rpc-providers.md section 10) and the reference
examples of claims-oci-par.md 4.3. Run once from the repository root; the output is committed.
The claims corpus (fuzz/corpus/claims/) is hand-made and not touched here."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def vectors():
    text = (ROOT / "tests" / "rpc" / "vectors.h").read_text()
    out = {}
    pattern = r'inline constexpr std::string_view (\w+) =\s*((?:"[^"]*"\s*)+);'
    for m in re.finditer(pattern, text):
        joined = "".join(re.findall(r'"([^"]*)"', m.group(2)))
        if re.fullmatch(r"(?:[0-9a-f]{2})+", joined):
            out[m.group(1)] = bytes.fromhex(joined)
    return out


def s(text):
    """msgpack str (fixstr or str8)."""
    b = text.encode()
    return (bytes([0xA0 | len(b)]) if len(b) < 32 else bytes([0xD9, len(b)])) + b


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def main():
    v = vectors()
    write("invocation", "a3_invocation.bin", v["kA3Invocation"])
    write("invocation", "c3_invocation.bin", v["kC3Invocation"])
    write("response", "b1_http_response_payload.bin", v["kB1HttpResponse"])
    write("response", "b2_response.bin", v["kB2Response"])
    write("response", "c4_response.bin", v["kC4Response"])
    # {"error": "Invocation received for actor M.. that is not running", "msg": bin(0)}
    write("response", "error_only.bin",
          b"\x82" + s("error") + s("actor M not running") + s("msg") + b"\xc4\x00")
    write("linkdef", "kv_redis.bin", v["kLinkdefKvRedis"])
    # Minimal map: no id, values nil.
    write("linkdef", "minimal_nil_values.bin",
          b"\x85" + s("actor_id") + s("MA") + s("contract_id") + s("wasmcloud:keyvalue") +
          s("link_name") + s("default") + s("provider_id") + s("VP") + s("values") + b"\xc0")
    # The fuzzer reads its input as JSON too (rpc::linkdef_from_json): the get.links / KV object
    # of control-interface.md 2.4.3 and 5.3, and a client's object without id and values.
    write("linkdef", "kv_json.json",
          b'{"id":"EC986307FC72C45DBA4699F5AD52702B09800138ACA24BC53339B929423947B6",'
          b'"actor_id":"MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5",'
          b'"provider_id":"VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M",'
          b'"link_name":"default","contract_id":"wasmcloud:httpserver",'
          b'"values":{"address":"0.0.0.0:8080"}}')
    write("linkdef", "client_json_no_values.json",
          b'{"actor_id":"MA","provider_id":"VP","link_name":"default","contract_id":"c"}')
    refs = ["localhost:5000/echo:0.3.4", "echo:0.3.4", "org/echo", "index.docker.io/echo:2",
            "oci://localhost:5000/echo:1", "reg.io/a/b:1@sha256:" + "ab" * 32,
            "127.0.0.1:5000/a/b-c/d__e.f:v1.2-rc_3", "reg.io/echo@md5:" + "0" * 32]
    for i, ref in enumerate(refs):
        write("reference", f"ref{i}.txt", ref.encode())


if __name__ == "__main__":
    main()
