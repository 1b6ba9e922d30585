"""The ``pineforge`` command: one group, commands grouped by what they touch.

services.py  serve, worker, beat, flower, db upgrade   (long-running)
stack.py     up, down                                  (all of them, in the background)
client.py    generate                                  (through the HTTP API)
demo.py      demo                                      (every example request)
tools.py     render, validate                          (offline)
accounts.py  users create, tokens create
keys.py      keys new, keys rotate
"""

from __future__ import annotations

import click

from cli.accounts import tokens, users
from cli.client import generate
from cli.demo import demo
from cli.keys import keys
from cli.services import beat, db, flower, serve, worker
from cli.stack import down, up
from cli.tools import render, validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pineforge")
def main() -> None:
    """PineForge: plain-language trading ideas in, Pine Script v6 strategies out."""


for command in (
    serve, worker, beat, flower, db, up, down, generate, demo, render, validate,
    users, tokens, keys,
):  # fmt: skip
    main.add_command(command)


if __name__ == "__main__":
    main()
