"""Security suite: attacks on the running bot over real HTTP.

Each test here is an attack from the "Trust" issue: signed Slack requests (or plain browser
requests, for the OAuth pages) sent to the bot's real HTTP endpoint, with the Spark sandbox and
the stand-in Slack on 127.0.0.1, asserting what the attacker gets back and what reached Slack,
Spark and the database. It uses the suite's end-to-end `stack` fixture (`tests/fixtures/stack.py`).
"""
