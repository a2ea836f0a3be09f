#!/bin/bash
# reflexd's command line: --check-config on good and bad files (every error
# with file:line:column, non-zero status), --describe, --list-plugins,
# --version/--help, and a start refused for an invalid file.
. "$(dirname "$0")/lib.sh"

out=$(REFLEX_ADMIN_TOKEN=unused "$REFLEXD" --check-config "$SRCDIR/etc/reflex.yaml" 2>&1); rc=$?
eq "the shipped etc/reflex.yaml is valid" 0 "$rc"
contains "check-config says so" "configuration is valid" "$out"

cat >"$TMP/bad.yaml" <<'YAML'
agent:
  name: demo
  data_dri: ./var
  api:
    listen: 127.0.0.1:3009
    max_body: lots
    timeout: 30 parsecs
store: { plugin: sqlite, synchronous: sometimes }
inputs:
  - { name: hook, plugin: webhook, pth: /x }
  - { name: hook2, plugin: file, path: /tmp/x }
outputs:
  - { name: log, plugin: file, match: 'sevrity >= warning' }
  - { name: hook, plugin: stdout }
YAML
out=$("$REFLEXD" --check-config "$TMP/bad.yaml" 2>&1); rc=$?
eq "a bad file exits 1" 1 "$rc"
F="$TMP/bad.yaml"
contains "unknown key with suggestion" "$F:3:3: agent: unknown key 'data_dri'; did you mean 'data_dir'?" "$out"
contains "bad size" "$F:6:15: agent.api: 'max_body': expected a size" "$out"
contains "bad duration" "$F:7:14: agent.api: 'timeout': expected a duration" "$out"
contains "bad enum" "$F:8:39: store (sqlite): 'synchronous'" "$out"
contains "plugin key typo" "$F:10:36: inputs[0] (webhook): unknown key 'pth'; did you mean 'path'?" "$out"
contains "kind mismatch" "$F:11:28: inputs[1] (file): plugin 'file' is an output plugin" "$out"
contains "missing required key" "$F:13:5: outputs[0] (file): missing required key 'path'" "$out"
contains "bad match expression with its column" "$F:13:40: outputs[0] (file): match: unknown field 'sevrity'; did you mean 'severity'?" "$out"
contains "duplicate instance name" "$F:14:13: outputs[1] (stdout): duplicate instance name 'hook'" "$out"
contains "error count" "9 errors" "$out"

cat >"$TMP/env.yaml" <<'YAML'
agent:
  api:
    tokens:
      - { token: "${REFLEX_IT_UNSET_TOKEN}", role: admin }
YAML
out=$("$REFLEXD" --check-config "$TMP/env.yaml" 2>&1); rc=$?
eq "an unset variable is an error" 1 "$rc"
contains "it names the variable and position" "$TMP/env.yaml:4:18:" "$out"
contains "it names the variable" "REFLEX_IT_UNSET_TOKEN" "$out"
printf 'secret-from-a-file-0123456789\n' >"$TMP/token"
cat >"$TMP/file.yaml" <<YAML
agent:
  data_dir: $TMP/var
  api:
    tokens:
      - { token: "\${file:$TMP/token}", role: admin }
YAML
out=$("$REFLEXD" --check-config "$TMP/file.yaml" 2>&1); rc=$?
eq "\${file:} substitution validates" 0 "$rc"

out=$("$REFLEXD" -c "$TMP/bad.yaml" 2>&1); rc=$?
eq "reflexd -c refuses an invalid file" 1 "$rc"
contains "and says how to check it" "reflexd --check-config" "$out"

out=$("$REFLEXD" --describe webhook 2>&1); rc=$?
eq "--describe of a name two kinds share fails" 1 "$rc"
contains "... and says how to pick one" "say which, e.g. input/webhook or output/webhook" "$out"
out=$("$REFLEXD" --describe input/webhook); rc=$?
eq "--describe input/webhook" 0 "$rc"
contains "describe shows the path option" "path" "$out"
contains "describe shows the default" "/api/v1/events/webhook" "$out"
out=$("$REFLEXD" --describe output/file); contains "--describe kind/name" "max_size" "$out"
out=$("$REFLEXD" --describe sqlite); contains "--describe the store" "synchronous" "$out"
out=$("$REFLEXD" --describe pipeline); contains "--describe a core section" "queue_size" "$out"
out=$("$REFLEXD" --describe nosuch 2>&1); rc=$?
eq "--describe unknown fails" 1 "$rc"
contains "--describe unknown says so" "no plugin named 'nosuch'" "$out"
out=$("$REFLEXD" --list-plugins); rc=$?
eq "--list-plugins" 0 "$rc"
for p in "input      webhook" "input      syslog" "output     file" "output     stdout" "store      sqlite"; do
	contains "--list-plugins lists $p" "$p" "$out"
done
ABI="$(sed -n 's/^#define RFX_ABI_MAJOR \([0-9]*\).*/\1/p' "$SRCDIR/include/reflex/plugin.h").$(sed -n 's/^#define RFX_ABI_MINOR \([0-9]*\).*/\1/p' "$SRCDIR/include/reflex/plugin.h")"
out=$("$REFLEXD" --version); contains "--version" "plugin ABI $ABI" "$out"
out=$("$REFLEXD" --help); contains "--help" "--check-config FILE" "$out"
"$REFLEXD" --bogus >/dev/null 2>&1; rc=$?
eq "unknown flag is a usage error (64)" 64 "$rc"
finish
