"""`python -m healthscore` runs the CLI."""

from healthscore.cli import app

app(prog_name="healthscore")
