#!/usr/bin/env python3
"""Runs the schemathesis CLI. Hypothesis describes strategies by parsing lambda sources, which
trips a CPython 3.11 parser bug on some of schemathesis's own code ("AST constructor recursion
depth mismatch"); that description is cosmetic, so a failure to make it falls back to a name."""
import sys

import hypothesis.internal.lambda_sources as lambda_sources

_describe = lambda_sources.lambda_description


def _describe_or_name(f):
    try:
        return _describe(f)
    except SystemError:
        return "lambda"


lambda_sources.lambda_description = _describe_or_name

from schemathesis.cli import schemathesis  # noqa: E402

sys.exit(schemathesis())
