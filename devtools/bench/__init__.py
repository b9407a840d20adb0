"""`make bench`: how fast the bot answers, how close it gets to Spark's floor, what it costs.

`python -m devtools.bench.run [--quick]` starts the Spark sandbox, a stand-in Slack, the bot and a bare
Bolt app on 127.0.0.1, drives them with signed Slack requests, and writes `devtools/bench/report.md`
and `devtools/bench/results.json`. See `devtools/bench/README.md`.
"""
