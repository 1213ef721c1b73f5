"""Command line of the course tooling: `python -m autograder {build,grade} --help`."""

import argparse
import sys

from autograder import build
from autograder.grading import command as grade


def make_parser():
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description="nbgrader tooling of the Optimization Deep course.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module, summary in [
        ("build", build, "regenerate lessons/ from solutions/ with nbgrader generate_assignment"),
        ("grade", grade, "autograde a folder of student submissions: grades.csv and feedback HTML"),
    ]:
        command = commands.add_parser(
            name, help=summary, description=module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv=None):
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except build.CourseError as error:
        parser.exit(2, f"{parser.prog} {args.command}: error: {error}\n")


if __name__ == "__main__":
    sys.exit(main())
