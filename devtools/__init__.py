"""Development tools, not part of the bot: the Spark sandbox, the stand-in Slack Web API,
the benchmarks and the loop-in-a-thread helper they share.

The product (`bot.py`, `runtime.py`, `settings.py`, `redaction.py`, `spark/`, `storage/`,
`activity/`, `blocks/`, `handlers/`, `setup_check/`, `console/`) never imports from here,
except `bot.py sandbox` and `console --demo`, which start the sandbox on request
(`tests/test_layers.py` checks this).
"""
