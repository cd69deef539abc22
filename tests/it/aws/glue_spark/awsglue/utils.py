"""`getResolvedOptions(args, options)`: the job's arguments by name, as Glue documents it.

Glue passes every run the arguments it reserves (JOB_ID, JOB_RUN_ID, SECURITY_CONFIGURATION,
job-bookmark-option, TempDir, ...) and registers them itself: they are in the answer without
being asked for, and asking for one is an error ("Using reserved arguments"). An option that is
asked for is required: its absence is an error. Other arguments are ignored."""

import argparse

RESERVED = ("JOB_ID", "JOB_RUN_ID", "SECURITY_CONFIGURATION", "encryption-type",
            "job-bookmark-option", "continuation-option", "job-bookmark-from",
            "job-bookmark-to")


class GlueArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise GlueArgumentError(message)


def getResolvedOptions(args, options):
    for option in options:
        if option in RESERVED:
            raise RuntimeError("Using reserved arguments --" + option)
    parser = _Parser(add_help=False)
    for option in RESERVED:
        parser.add_argument("--" + option, required=False)
    parser.add_argument("--TempDir", required=False)
    for option in options:
        if option != "TempDir":
            parser.add_argument("--" + option, required=True)
    parsed, _ = parser.parse_known_args(args[1:])
    resolved = vars(parsed)
    resolved.setdefault("job_bookmark_option", "job-bookmark-disable")
    return resolved
