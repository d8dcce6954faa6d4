"""One exit-status convention and help text for every option (docs/cli.md)."""

import argparse

from stabcheck.cli import build_parser, main
from stabcheck.cli.common import EXIT_BAD_INPUT, EXIT_FAILS, EXIT_HOLDS, EXIT_INCONCLUSIVE


def test_every_option_of_every_subcommand_has_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, p in sub.choices.items():
        for a in p._actions:
            if a.help is None or a.help == argparse.SUPPRESS or not str(a.help).strip():
                missing.append(f"{name} {'/'.join(a.option_strings) or a.dest}")
    assert not missing, f"options without help: {missing}"
    assert sub.choices  # the walk saw the subcommands


def test_exit_codes(capsys):
    assert (EXIT_HOLDS, EXIT_FAILS, EXIT_BAD_INPUT, EXIT_INCONCLUSIVE) == (0, 1, 2, 3)
    base = ["analyze", "--system", "dirac", "--loss", "wgan", "--eta", "0.1"]
    assert main(base) == 0  # the README's main command: a report is produced
    assert main(base + ["--method", "sim", "--fail-on", "diverges,unbounded"]) == 1
    assert main(base + ["--method", "eg", "--fail-on", "diverges,unbounded"]) == 0
    assert main(["analyze", "--system", "dirac", "--loss", "wgan", "--eta", "2", "--method", "alt",
                 "--fail-on", "unbounded"]) == 1
    assert main(base + ["--fail-on", "bogus"]) == 2
    assert "--fail-on: unknown verdict 'bogus'" in capsys.readouterr().err
