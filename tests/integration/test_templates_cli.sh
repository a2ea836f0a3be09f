#!/bin/bash
# tests/integration/test_templates_cli.sh - 'reflexctl templates' offline on
# two labeled LogHub sets: raw lines with --strip-header, scored against
# the ground truth (LogPAI grouping accuracy, computed here in awk), plus
# stdin, --json and usage checks. Needs no server.
. "$(dirname "$0")/lib.sh"

# The samples shipped in tests/data/loghub: the raw logs and the ground
# truth's EventId per line (see its README).
DATA=${REFLEX_LOGHUB:-$SRCDIR/tests/data/loghub}
[ -f "$DATA/HDFS/HDFS_2k.log" ] || DATA=

# EventId of each line: the shipped .eventids, or the column of a full
# LogHub structured csv (RFC 4180 quoting).
event_ids() {
	if [ -f "${1%.log_structured_corrected.csv}.eventids" ]; then
		cat "${1%.log_structured_corrected.csv}.eventids"
		return
	fi
	awk 'function field(line, want,    i, c, n, q, f) {
		n = 1; q = 0; f = ""
		for (i = 1; i <= length(line); i++) {
			c = substr(line, i, 1)
			if (q) { if (c == "\"") { if (substr(line, i + 1, 1) == "\"") { f = f c; i++ } else q = 0 } else f = f c }
			else if (c == "\"") q = 1
			else if (c == ",") { if (n == want) return f; n++; f = "" }
			else f = f c
		}
		return n == want ? f : ""
	}
	NR == 1 { for (i = 1; i <= split($0, h, ","); i++) if (h[i] == "EventId") col = i; next }
	{ print field($0, col) }' "$1"
}

# score GT_IDS PREDICTED_TSV: LogPAI grouping accuracy.
score() {
	paste "$1" <(cut -f1 "$2") | awk -F'\t' '
	{ gt[NR] = $1; pr[NR] = $2; ng[$1]++; np[$2]++
	  if (!($2 in first)) first[$2] = $1; else if (first[$2] != $1) mixed[$2] = 1 }
	END { for (p in np) if (!(p in mixed) && np[p] == ng[first[p]]) good += np[p]
	      printf "%.3f\n", good / NR }'
}

if [ -z "$DATA" ]; then
	bad "LogHub data not found (set REFLEX_LOGHUB)"
	finish
	exit $?
fi

# the accuracy reached (bench/README.md): HDFS 0.998, OpenSSH 0.926
declare -A floor=([HDFS]=0.99 [OpenSSH]=0.92)
for sys in HDFS OpenSSH; do
	log="$DATA/$sys/${sys}_2k.log"
	event_ids "$DATA/$sys/${sys}_2k.log_structured_corrected.csv" >"$TMP/$sys.gt"
	"$REFLEXCTL" templates --strip-header "$log" >"$TMP/$sys.out" 2>"$TMP/$sys.err"
	eq "$sys: exit status 0" 0 $?
	eq "$sys: one output line per input line" "$(wc -l <"$TMP/$sys.gt")" "$(wc -l <"$TMP/$sys.out")"
	acc=$(score "$TMP/$sys.gt" "$TMP/$sys.out")
	echo "$sys accuracy $acc"
	check "$sys: grouping accuracy $acc >= ${floor[$sys]}" \
		awk -v a="$acc" -v f="${floor[$sys]}" 'BEGIN { exit !(a >= f) }'
done

out=$(printf 'Failed password for root from 10.0.0.1 port 22 ssh2\nFailed password for bob from 10.0.0.2 port 23 ssh2\n' |
	"$REFLEXCTL" templates -)
eq "stdin: final templates per line" "$(printf '1\tFailed password for <*> from <*> port <*> ssh2\n1\tFailed password for <*> from <*> port <*> ssh2')" "$out"
json=$("$REFLEXCTL" templates --json --strip-header "$DATA/HDFS/HDFS_2k.log")
contains "--json has the line count" '"lines": 2000' "$json"
contains "--json lists templates with counts" '"count":' "$json"
"$REFLEXCTL" templates --mask '([' - </dev/null >/dev/null 2>"$TMP/mask.err"
eq "bad --mask is a usage error" 64 $?
contains "bad --mask names the pattern" "([" "$(cat "$TMP/mask.err")"
"$REFLEXCTL" templates /nonexistent/file >/dev/null 2>&1
eq "missing file fails with 1" 1 $?
finish
