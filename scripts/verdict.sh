#!/usr/bin/env bash
# The verdict of one run from the reports it exported (`… reports export
# --path DIR`): prints the summary, exits 1 when the run failed. The same
# step in scripts/pipeline.sh and the workflows, so the gate and the
# uploaded report always come from the same run.
set -euo pipefail
dir="${1:-reports}"
[ -f "$dir/report.json" ] || { echo "verdict: $dir/report.json is missing: the run exported no report" >&2; exit 2; }
[ -f "$dir/summary.md" ] && cat "$dir/summary.md"
python3 - "$dir/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
if not report["passed"]:
    sys.exit(f"verdict: failed at {report['failed_stage']}")
print("verdict: passed")
PY
