#!/usr/bin/env python3
"""Writes the slurm_script fuzz target's seed inputs: option values and paths encoded
the way its FuzzedDataProvider reads them back (integers from the end of the input,
strings from the start, each ended by a backslash and another character).

    tests/fuzz/slurm_seeds.py tests/fuzz/corpus/slurm_script
"""
import pathlib
import sys

# (name, minimum, maximum) in the order slurm_script.cpp consumes them.
INTS = [("nodes", -1, 5000), ("gpus_per_node", -1, 20), ("tasks_per_node", -1, 300),
        ("cpus_per_task", -1, 300), ("signal_lead_s", -1, 100000), ("max_requeues", -1, 100),
        ("ranks_per_job", -1, 64), ("array", -1, 100)]
STRINGS = ["time", "partition", "account", "mem", "mpi", "name", "binary", "sweep", "output",
           "workdir"]


def integer(value, lo, hi):
    span, offset, consumed = hi - lo, 0, []
    while offset < 32 and (span >> offset) > 0:
        consumed.append(0)
        offset += 8
    result = value - lo
    for i in range(len(consumed)):  # the first byte consumed is the most significant
        consumed[i] = (result >> (8 * (len(consumed) - 1 - i))) & 0xFF
    return consumed


def encode(ints, strings):
    head = b"".join(s.encode().replace(b"\\", b"\\\\") + b"\\;" for s in strings)
    consumed = [b for (name, lo, hi) in INTS for b in integer(ints[name], lo, hi)]
    return head + bytes(reversed(consumed))


def main(out):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plain = dict(nodes=1, gpus_per_node=4, tasks_per_node=0, cpus_per_task=8, signal_lead_s=300,
                 max_requeues=10, ranks_per_job=2, array=0)
    hostile = ["x\"; touch pwned; echo \"", "sweep $(touch pwned)", "out `touch pwned`",
               "bin'ary\n$HOME", "work \\ dir"]
    seeds = {
        "plain": (plain, ["01:00:00", "gpu", "", "16G", "pmix", "tsccn-table1", "bin", "s.yaml",
                          "out", "work"]),
        "hostile": (dict(plain, array=4), ["2-00:00:00", "a,b", "acct", "", "pmi2", hostile[0],
                                           hostile[3], hostile[1], hostile[2], hostile[4]]),
        "cpu": (dict(plain, gpus_per_node=0, ranks_per_job=0), ["00:10:00", "", "", "", "none",
                                                                "\u00e9t\u00e9 \t", "a b", "c d",
                                                                "e f", "g h"]),
    }
    for name, (ints, strings) in seeds.items():
        (out / name).write_bytes(encode(ints, strings))


if __name__ == "__main__":
    main(sys.argv[1])
