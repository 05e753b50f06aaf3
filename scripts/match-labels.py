#!/usr/bin/env python3
"""Match alerts against gen's labels: which injected anomalies were found, and
which alerts match no label (false alerts).

usage: scripts/match-labels.py LABELS.ndjson ALERTS.ndjson [--kinds size,rate] [--grace-minutes 5]

An anomaly counts as detected when a firing alert for its principal has
first_ts in [start, end + grace] (SPEC §5's rule for `tune`).
"""
import argparse, json
from datetime import datetime, timedelta

def when(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))

ap = argparse.ArgumentParser()
ap.add_argument("labels")
ap.add_argument("alerts")
ap.add_argument("--kinds", default="")
ap.add_argument("--grace-minutes", type=float, default=5)
a = ap.parse_args()
kinds = set(filter(None, a.kinds.split(",")))
grace = timedelta(minutes=a.grace_minutes)
labels = [json.loads(l) for l in open(a.labels) if l.strip()]
alerts = [json.loads(l) for l in open(a.alerts) if '"firing"' in l]

def matches(alert, label):
    return alert["principal"] == label["principal"] and when(label["start"]) <= when(alert["first_ts"]) <= when(label["end"]) + grace

found = 0
wanted = [l for l in labels if not kinds or l["kind"] in kinds]
for label in wanted:
    hits = [x for x in alerts if matches(x, label)]
    found += bool(hits)
    print(f"{'found ' if hits else 'MISSED'} {label['kind']:<12} {label['principal']:<22} {label['start']}"
          + (f"  by {sorted({x['detector'] for x in hits})}" if hits else ""))
false = [x for x in alerts if not any(matches(x, l) for l in labels)]
for x in false:
    print(f"false  {x['detector']:<12} {x['principal']:<22} {x['first_ts']}  {x['message']}")
print(f"{found}/{len(wanted)} labelled anomalies found, {len(false)} false alerts, {len(alerts)} alerts in all")
