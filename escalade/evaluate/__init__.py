"""The streaming `escalade evaluate` engine (SPEC §2): JSON Lines in, one answer line out each.

The rules are the core's (`core.contract` parses and checks the facts, `core.escalation` decides);
this package only makes them fast on a stream: `lines` writes an answer without building its JSON
object, `stream` reads pipes line by line and files by blocks, `parallel` splits a regular file over
forked processes. `command.run` is what the command line calls.
"""
